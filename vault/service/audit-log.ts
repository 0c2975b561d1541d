/**
 * The vault's audit trail (PCI DSS requirement 10): append-only and tamper-evident. Every row
 * carries the SHA-256 of the previous row's hash and its own canonical content, so deleting,
 * reordering or editing any row breaks the chain from that row on; `verify()` walks it.
 *
 * Recorded: every use of a card token (charge), every refused pivot token, every key action
 * (rotation, re-wrap) and every administrative action, each with who, what, when, outcome,
 * origin and resource. Never recorded: card data, CVCs, tokens' secrets, addresses.
 *
 * @module
 */

/** Who acted: a browser through a pivot token, a back-end client, an operator's command, the service. */
export type AuditActorKind = 'customer' | 'client' | 'operator' | 'service';

export interface AuditEntryInput {
  /** The actor, e.g. `{ kind: 'client', id: 'bank-backend' }` or `{ kind: 'customer', id: <pseudonymous sub> }`. */
  readonly actor: { readonly kind: AuditActorKind; readonly id: string };
  /** What happened, dotted: `token.charge`, `pivot_token.rejected`, `key.rotate`, `key.rewrap`, … */
  readonly action: string;
  /** On what: `tok_…`, `step stp_…`, `data-key dk_…`. Never card data. */
  readonly resource: string;
  readonly outcome: 'success' | 'failure';
  /** Browser `Origin`, client address or `cli`; null when none applies. */
  readonly origin: string | null;
  /** A stable error code or short detail; never card data or secrets. */
  readonly detail?: string | null;
}

export interface AuditEntry extends AuditEntryInput {
  /** 1, 2, 3, … without gaps. */
  readonly seq: number;
  /** ISO-8601 time of the append. */
  readonly at: string;
  /** Hex SHA-256 of the previous entry (64 zeros for the first). */
  readonly prevHash: string;
  /** Hex SHA-256 over `prevHash` and this entry's canonical content. */
  readonly hash: string;
}

export interface AuditVerification {
  readonly ok: boolean;
  readonly entries: number;
  /** The first entry whose hash or link does not verify, when `ok` is false. */
  readonly brokenAt?: number;
}

export interface AuditLog {
  /** Appends one entry (synchronously durable on return). */
  append(entry: AuditEntryInput): Promise<AuditEntry>;
  /** Walks the whole chain and recomputes every hash. */
  verify(): Promise<AuditVerification>;
  /** Entries in order, for the evidence pack and tests. */
  list(options?: { after?: number; limit?: number }): Promise<AuditEntry[]>;
}
