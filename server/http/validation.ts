/**
 * Request validation with the protocol's valibot schemas. A route declares them in its options,
 *
 *   api.post(PATH, { schema: { body: StepUpRequestSchema } }, async (request) => request.body.assertion)
 *
 * and Fastify runs them after the route group's hooks (Origin, then the session: auth/sessions.ts)
 * and the route's preValidation hooks, before the handler. The handler sees the parsed output
 * (defaults filled in, transforms applied), typed by {@link ValibotTypeProvider}; a refusal is
 * the same `400 BAD_REQUEST` naming only the failing path as everywhere else ({@link invalidInput}).
 *
 * Fastify hands an absent body to the validator as `null`, so a route whose body is optional says
 * so with `v.nullish(schema, {})`.
 *
 * @module
 */
import type { FastifyInstance, FastifySchemaCompiler, FastifyTypeProvider } from 'fastify';
import * as v from 'valibot';
import { invalidInput } from './errors.ts';

/** Types `request.body`, `request.query` and `request.params` as the output of the route's schemas. */
export interface ValibotTypeProvider extends FastifyTypeProvider {
  readonly validator: this['schema'] extends v.GenericSchema ? v.InferOutput<this['schema']> : unknown;
  readonly serializer: this['schema'] extends v.GenericSchema ? v.InferInput<this['schema']> : unknown;
}

function isValibotSchema(schema: unknown): schema is v.GenericSchema {
  return typeof schema === 'object' && schema !== null && (schema as { kind?: unknown }).kind === 'schema' && (schema as { async?: unknown }).async === false;
}

/** Compiles one route schema; anything but a synchronous valibot schema stops the server at start. */
export const valibotValidatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, method, url, httpPart }) => {
  if (!isValibotSchema(schema)) throw new Error(`${method} ${url}: the ${httpPart ?? 'request'} schema is not a synchronous valibot schema`);
  return (data: unknown) => {
    const result = v.safeParse(schema, data);
    return result.success ? { value: result.output } : { error: invalidInput(result.issues) };
  };
};

/** Every route of `app` validates with the protocol's schemas. */
export function installValidation(app: FastifyInstance): void {
  app.setValidatorCompiler(valibotValidatorCompiler);
}

/** `app` with route schemas typing the handlers' requests. */
export function typed(app: FastifyInstance) {
  return app.withTypeProvider<ValibotTypeProvider>();
}
