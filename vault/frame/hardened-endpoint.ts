/**
 * A Comlink endpoint that lets through ONLY calls of allow-listed methods with one valid,
 * plain argument. The host page holds the other end of the port and is untrusted: plain
 * `Comlink.expose` would let it GET/SET any property path (`__proto__` included), CONSTRUCT,
 * open new endpoints, or pass proxies (callbacks into the host) and transferables.
 *
 * What reaches Comlink is a message REBUILT from validated parts:
 *
 *     { id, type: 'APPLY', path: [name], argumentList: [{ type: 'RAW', value: <schema output> }] }
 *
 * where `name` is an own key of the allow-list and the value is the output of that method's
 * valibot schema. Everything else (GET, SET, CONSTRUCT, ENDPOINT, RELEASE, nested or prototype
 * paths, HANDLER wire values, extra keys, transferred ports, schema failures) is dropped and
 * counted. Replies go out without transferables.
 *
 * Behind it, the frame answers with {@link serveApply} rather than `Comlink.expose`: the same
 * wire format for the one message type that can arrive, so the widget's `Comlink.wrap` is the
 * client, while Comlink's GET/SET/CONSTRUCT/ENDPOINT/proxy code is not in the frame at all.
 *
 * Pure: no DOM access, so unit tests drive it with a fake endpoint in Node.
 *
 * @module
 */
import type { Endpoint } from 'comlink';
import * as v from 'valibot';

/** Why a message was dropped (a counter per reason; never the message itself). */
export type DropReason =
  | 'not_object'
  | 'bad_shape'
  | 'bad_id'
  | 'not_apply'
  | 'bad_path'
  | 'unknown_method'
  | 'bad_arguments'
  | 'not_raw'
  | 'schema_invalid'
  | 'transfer';

export type MethodSchemas = Readonly<Record<string, v.GenericSchema>>;

/** A message Comlink may see: one call of one allow-listed method with one validated value. */
export interface SafeApplyMessage {
  readonly id: string;
  readonly type: 'APPLY';
  readonly path: readonly [string];
  readonly argumentList: readonly [{ readonly type: 'RAW'; readonly value: unknown }];
}

export type FilterResult = { readonly ok: true; readonly message: SafeApplyMessage } | { readonly ok: false; readonly reason: DropReason };

export interface EndpointStats {
  accepted: number;
  dropped: number;
  readonly byReason: Partial<Record<DropReason, number>>;
}

const APPLY_KEYS = ['argumentList', 'id', 'path', 'type'];
const RAW_KEYS = ['type', 'value'];
/** Comlink ids are four hex numbers joined by `-`; accept a bounded id of that alphabet. */
const ID_PATTERN = /^[A-Za-z0-9-]{1,100}$/;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function hasExactKeys(value: Record<string, unknown>, keys: readonly string[]): boolean {
  const own = Reflect.ownKeys(value);
  return own.length === keys.length && own.every((k) => typeof k === 'string' && keys.includes(k));
}

/**
 * Decide whether one incoming message may reach Comlink, and rebuild it from validated parts.
 *
 * @param data  `event.data` as received
 * @param ports `event.ports` as received (must be empty)
 * @param methods allow-list: method name -> schema of its single argument
 */
export function filterComlinkMessage(data: unknown, ports: readonly unknown[] | undefined, methods: MethodSchemas): FilterResult {
  if (ports && ports.length > 0) return { ok: false, reason: 'transfer' };
  if (!isPlainObject(data)) return { ok: false, reason: 'not_object' };
  if (data.type !== 'APPLY') return { ok: false, reason: 'not_apply' };
  if (!hasExactKeys(data, APPLY_KEYS)) return { ok: false, reason: 'bad_shape' };
  const { id, path, argumentList } = data;
  if (typeof id !== 'string' || !ID_PATTERN.test(id)) return { ok: false, reason: 'bad_id' };
  if (!Array.isArray(path) || path.length !== 1 || typeof path[0] !== 'string') return { ok: false, reason: 'bad_path' };
  const name = path[0];
  if (!Object.prototype.hasOwnProperty.call(methods, name)) return { ok: false, reason: 'unknown_method' };
  if (!Array.isArray(argumentList) || argumentList.length !== 1) return { ok: false, reason: 'bad_arguments' };
  const wire: unknown = argumentList[0];
  if (!isPlainObject(wire) || wire.type !== 'RAW' || !hasExactKeys(wire, RAW_KEYS)) return { ok: false, reason: 'not_raw' };
  const parsed = v.safeParse(methods[name]!, wire.value);
  if (!parsed.success) return { ok: false, reason: 'schema_invalid' };
  return { ok: true, message: { id, type: 'APPLY', path: [name], argumentList: [{ type: 'RAW', value: parsed.output }] } };
}

/**
 * Wrap `inner` (the rpc MessagePort) so that Comlink's `expose` only ever receives messages
 * that passed {@link filterComlinkMessage}.
 *
 * @example
 * const ep = hardenEndpoint(rpcPort, FRAME_API_METHODS);
 * Comlink.expose(facade, ep);
 */
export function hardenEndpoint(
  inner: Endpoint,
  methods: MethodSchemas,
  onDrop?: (reason: DropReason) => void,
): Endpoint & { readonly stats: EndpointStats } {
  const stats: EndpointStats = { accepted: 0, dropped: 0, byReason: {} };
  const wrapped = new Map<EventListenerOrEventListenerObject, EventListener>();

  const endpoint = {
    stats,
    postMessage(message: unknown): void {
      // Replies are plain values: never transfer anything to the host.
      inner.postMessage(message, []);
    },
    addEventListener(type: string, listener: EventListenerOrEventListenerObject): void {
      if (type !== 'message' || wrapped.has(listener)) return;
      const filtered: EventListener = (event) => {
        const { data, ports } = event as MessageEvent;
        const result = filterComlinkMessage(data, ports, methods);
        if (!result.ok) {
          stats.dropped++;
          stats.byReason[result.reason] = (stats.byReason[result.reason] ?? 0) + 1;
          onDrop?.(result.reason);
          return;
        }
        stats.accepted++;
        const clean = { data: result.message, ports: [] } as unknown as Event;
        if (typeof listener === 'function') listener(clean);
        else listener.handleEvent(clean);
      };
      wrapped.set(listener, filtered);
      inner.addEventListener('message', filtered);
    },
    removeEventListener(type: string, listener: EventListenerOrEventListenerObject): void {
      const filtered = wrapped.get(listener);
      if (type !== 'message' || !filtered) return;
      wrapped.delete(listener);
      inner.removeEventListener('message', filtered);
    },
    start(): void {
      inner.start?.();
    },
  };
  return endpoint;
}

/**
 * The object Comlink exposes: a frozen, null-prototype facade holding only the allow-listed
 * methods, so no path can reach `Object.prototype`, `constructor` or internal state.
 */
export function createFacade<T extends Record<string, (...args: never[]) => unknown>>(methods: T): Readonly<T> {
  const facade = Object.create(null) as T;
  for (const key of Object.keys(methods) as (keyof T)[]) {
    Object.defineProperty(facade, key, { value: methods[key], enumerable: true, writable: false, configurable: false });
  }
  return Object.freeze(facade);
}

/** What a rejected call answers: Comlink's `throw` wire value, carrying no detail of the failure. */
const THROWN = { type: 'HANDLER', name: 'throw', value: { isError: true, value: { name: 'Error', message: 'INTERNAL_ERROR' } } } as const;

/**
 * Serve `api` on `ep` (the hardened endpoint) in Comlink's wire format: `APPLY` of an own method
 * with one RAW argument, answered `{id, type: 'RAW', value}`, a rejection answered as Comlink's
 * `throw` value with a bare code. Any other message is ignored (the hardened endpoint already let
 * only such calls through; this is the second lock).
 *
 * @example serveApply(createFacade({ begin }), hardenEndpoint(rpcPort, FRAME_API_METHODS));
 */
export function serveApply(api: Readonly<Record<string, (arg: never) => unknown>>, ep: Endpoint): void {
  ep.addEventListener('message', (event) => {
    const { id, type, path, argumentList } = ((event as MessageEvent).data ?? {}) as Partial<SafeApplyMessage>;
    const name = String(path?.[0]);
    if (type !== 'APPLY' || !Object.hasOwn(api, name)) return;
    const method = api[name] as (arg: unknown) => unknown;
    void Promise.resolve()
      .then(() => method(argumentList?.[0]?.value))
      .then(
        (value) => ({ type: 'RAW', value }),
        () => THROWN,
      )
      .then((reply) => ep.postMessage({ id, ...reply }));
  });
  ep.start?.();
}
