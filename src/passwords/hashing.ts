import { hash, verify } from '@node-rs/argon2';
import { normalizePassword } from './policy.js';

// OWASP Password Storage Cheat Sheet minimum for Argon2id (security.md 12).
const PARAMS = { algorithm: 2 /* Algorithm.Argon2id, a const enum */, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export function hashPassword(password: string): Promise<string> {
  return hash(normalizePassword(password), PARAMS);
}

// A real hash of a random password: verifying against it costs what a real check costs, so
// "no such user" and "wrong password" take the same time.
let decoy: Promise<string> | undefined;

export async function verifyPassword(storedHash: string | null, password: string): Promise<boolean> {
  if (!storedHash) {
    decoy ??= hash(crypto.randomUUID(), PARAMS);
    await verify(await decoy, normalizePassword(password)).catch(() => false);
    return false;
  }
  return verify(storedHash, normalizePassword(password)).catch(() => false);
}
