/**
 * The payload key the committed histories were recorded with. The histories hold only made-up
 * test users, so this key protects nothing; it is committed so that replay decodes the
 * payloads the way a worker does (through the codec and the failure converter), and so that
 * the recorded files carry no plaintext, like a real history export.
 */
export const HISTORY_FIXTURE_PAYLOAD_KEYS = 'history-fixture:6a0f3c1e9b7d25a4c8e1f0b3d6a9c2e5f8b1d4a7c0e3f6b9d2a5c8e1f4b7a0d3';
