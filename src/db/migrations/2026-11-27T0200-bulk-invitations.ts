import { sql, type Kysely } from 'kysely';

/**
 * Bulk invitations: a batch and one row per line of the uploaded file. The rows are the work
 * list of the batch's workflow (which reads them from here, so no personal data sits in its
 * history) and the per-row results the API answers with.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('bulk_batches')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    // Who submitted it (a digest of the bearer key): Idempotency-Keys are per caller.
    .addColumn('principal', 'text', (c) => c.notNull())
    .addColumn('idempotency_key', 'text')
    // A digest of the canonical rows: the same key with another file is refused.
    .addColumn('request_fingerprint', 'text', (c) => c.notNull())
    .addColumn('workflow_id', 'text', (c) => c.notNull())
    .addColumn('total', 'integer', (c) => c.notNull().check(sql`total between 1 and 1000`))
    .addColumn('per_second', 'double precision', (c) => c.notNull().check(sql`per_second > 0`))
    .addColumn('created_by', 'text')
    // Through which key (audit: the bootstrap key or a named key's id), for the rows' invitations.
    .addColumn('created_by_key', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('completed_at', 'timestamptz')
    .execute();
  await db.schema
    .createIndex('bulk_batches_idempotency_key')
    .on('bulk_batches')
    .columns(['principal', 'idempotency_key'])
    .unique()
    .where(sql.ref('idempotency_key'), 'is not', null)
    .execute();

  await db.schema
    .createTable('bulk_rows')
    .addColumn('batch_id', 'uuid', (c) => c.notNull().references('bulk_batches.id').onDelete('cascade'))
    .addColumn('row_number', 'integer', (c) => c.notNull().check(sql`row_number between 1 and 1000`))
    // Where the record starts in a CSV file (the header is line 1); null for JSON.
    .addColumn('line', 'integer')
    .addColumn('username', 'text', (c) => c.notNull())
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('user_type', 'text', (c) => c.notNull())
    .addColumn('is_staff', 'boolean', (c) => c.notNull())
    .addColumn('permissions', sql`text[]`, (c) => c.notNull())
    .addColumn('locale', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('pending', 'created', 'failed')`))
    .addColumn('user_id', 'uuid')
    .addColumn('invitation_id', 'uuid')
    .addColumn('problem', 'jsonb')
    .addColumn('finished_at', 'timestamptz')
    .addPrimaryKeyConstraint('bulk_rows_pkey', ['batch_id', 'row_number'])
    // A result is one or the other, never both or half.
    .addCheckConstraint(
      'bulk_rows_result',
      sql`(status = 'pending' and user_id is null and problem is null)
       or (status = 'created' and user_id is not null and invitation_id is not null and problem is null)
       or (status = 'failed' and user_id is null and problem is not null)`,
    )
    .execute();
  // The workflow takes the next pending rows in order.
  await db.schema.createIndex('bulk_rows_pending').on('bulk_rows').columns(['batch_id', 'row_number']).where(sql.ref('status'), '=', 'pending').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('bulk_rows').execute();
  await db.schema.dropTable('bulk_batches').execute();
}
