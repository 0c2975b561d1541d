/**
 * The vault's step kinds, one module each, and the one route loop that serves them: every kind's
 * answer is `POST <its path>` from the frame (Origin = the vault's own), rate limited per client
 * address, and run through {@link runStep}.
 *
 * @module
 */
import type Database from 'better-sqlite3';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PivotError } from '../../../protocol/errors.ts';
import { STEP_DEFINITIONS, type StepKind } from '../../../protocol/steps/index.ts';
import type { CvcStore } from '../charges/cvc-store.ts';
import type { KeyProvider } from '../keys/key-provider.ts';
import { createAttemptLimiter, type ClientLimiter } from './rate-limit.ts';
import { addressChangeStep } from './address-change.ts';
import { cardPaymentStep } from './card-payment.ts';
import { runStep, type RunStepDeps, type VaultStepKind } from './run-step.ts';
import { payeeConfirmationStep } from './payee-confirmation.ts';
import { transferStep } from './transfer.ts';

export interface StepKindDeps {
  readonly sqlite: Database.Database;
  readonly keys: KeyProvider;
  readonly cvcs?: CvcStore;
}

/** A kind of any request, checked value and response type (each kind module has its own). */
export type AnyVaultStepKind = { [K in StepKind]: VaultStepKind<K, any, any, any> }[StepKind];

/** Every kind the vault serves, in the order of protocol/steps' STEP_KINDS. */
export function vaultStepKinds(deps: StepKindDeps): readonly AnyVaultStepKind[] {
  return [cardPaymentStep(deps), addressChangeStep(deps), transferStep(deps), payeeConfirmationStep(deps)];
}

export interface StepRoutesOptions {
  readonly kinds: readonly AnyVaultStepKind[];
  readonly pipeline: Omit<RunStepDeps, 'attempts'>;
  /** One bucket per client address across every step path. */
  readonly clients: ClientLimiter;
  /** Refuses a request whose Origin is not the vault's own (the frame is the only browser caller). */
  readonly checkOrigin: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
  /** Called with the notice id of each stored answer (delivery to the chat server). */
  readonly onNotice: (noticeId: string) => void;
}

/** Registers `POST <path>` for every kind. */
export function registerStepRoutes(app: FastifyInstance, options: StepRoutesOptions): void {
  for (const each of options.kinds) {
    // One route per kind; the pipeline is generic, so the kind's own types need not survive here.
    const kind = each as VaultStepKind<StepKind, unknown, unknown, unknown>;
    const attempts = createAttemptLimiter(STEP_DEFINITIONS[kind.kind].maxRefusedPerToken);
    const deps: RunStepDeps = { ...options.pipeline, attempts };
    app.post(kind.path, { onRequest: options.checkOrigin, bodyLimit: kind.maxBodyBytes }, async (request, reply) => {
      if (request.body === undefined) throw new PivotError('BAD_REQUEST');
      if (!options.clients.take(request.ip, deps.clock())) throw new PivotError('RATE_LIMITED');
      const outcome = await runStep(deps, kind, request.body);
      request.log.info({ ...outcome.log, noticeId: outcome.noticeId }, kind.logMessage);
      // Deliver at once; the worker retries on failure. The customer does not wait for the chat.
      setImmediate(() => options.onNotice(outcome.noticeId));
      return reply.status(201).type('application/json; charset=utf-8').send(outcome.response);
    });
  }
}
