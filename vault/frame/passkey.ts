/**
 * The customer's passkey, inside the frame (protocol/passkeys.ts): every answer first asks the
 * vault for a challenge bound to this step; a customer who has a passkey signs it (the browser's
 * own prompt: PIN, fingerprint or face), and the assertion travels with the answer. A customer
 * who has none answers without one, and where the bank's policy refuses that
 * (PASSKEY_REQUIRED), the frame offers to create a passkey, confirmed by a code that went to
 * their messaging app (never to this page's host).
 *
 * The browser's own JSON forms of the WebAuthn options and results
 * (`PublicKeyCredential.parse*OptionsFromJSON`, `credential.toJSON()`) are used, so the frame
 * carries no encoding code of its own. Nothing here calls `focus()`: the customer moves into the
 * code field themselves.
 *
 * @module
 */
import type { ErrorCode } from '../../protocol/errors.ts';
import { PASSKEY_CHALLENGES_PATH, PASSKEY_CODE_DIGITS, PASSKEY_ENROLMENTS_PATH, PASSKEYS_PATH } from '../../protocol/passkeys.ts';
import { h } from './dom.ts';
import { postToVault, type PostOutcome } from './post.ts';

/** The WebAuthn JSON helpers of current browsers (not yet in every TypeScript DOM lib). */
interface JsonCredentials {
  parseRequestOptionsFromJSON(options: unknown): PublicKeyCredentialRequestOptions;
  parseCreationOptionsFromJSON(options: unknown): PublicKeyCredentialCreationOptions;
}

function jsonCredentials(): JsonCredentials | null {
  const ctor = (globalThis as { PublicKeyCredential?: Partial<JsonCredentials> }).PublicKeyCredential;
  return ctor?.parseRequestOptionsFromJSON && ctor.parseCreationOptionsFromJSON ? (ctor as JsonCredentials) : null;
}

/** The browser's prompt was cancelled, timed out, is unavailable, or this device holds no passkey of theirs. */
export const PROMPT_FAILED = 'PASSKEY_PROMPT_FAILED' as const satisfies ErrorCode;

async function prompt(kind: 'get' | 'create', options: unknown): Promise<unknown> {
  const api = jsonCredentials();
  if (!api) return null;
  try {
    const credential =
      kind === 'get'
        ? await navigator.credentials.get({ publicKey: api.parseRequestOptionsFromJSON(options) })
        : await navigator.credentials.create({ publicKey: api.parseCreationOptionsFromJSON(options) });
    return (credential as (Credential & { toJSON?: () => unknown }) | null)?.toJSON?.() ?? null;
  } catch {
    return null;
  }
}

/**
 * POST the answer `body` to `path`, with the customer's assertion for this step when they have
 * a passkey (none when the vault says `{enrolled: false}`; the answer then stands or falls by
 * the bank's policy).
 */
export async function postWithProof(path: string, body: { readonly pivotToken: string }): Promise<PostOutcome> {
  const challenge = await postToVault(PASSKEY_CHALLENGES_PATH, { pivotToken: body.pivotToken });
  if (!challenge.ok) return challenge;
  if (challenge.status !== 201) return postToVault(path, body);
  const assertion = await prompt('get', (challenge.json as { options?: unknown } | null)?.options);
  if (!assertion) return { ok: false, code: PROMPT_FAILED };
  return postToVault(path, { ...body, assertion });
}

/**
 * The enrolment panel: starts an enrolment (the code goes to the customer's messaging app), then
 * takes the code and creates the passkey on the customer's click. `onDone` runs once the vault
 * stored it; `say` shows a sentence in the step's status line.
 */
export function enrolmentPanel(pivotToken: string, say: (text: string) => void, onDone: () => void): HTMLElement {
  const codeId = 'spc-passkey-code';
  const code = h('input', {
    id: codeId,
    name: 'code',
    type: 'text',
    inputmode: 'numeric',
    autocomplete: 'one-time-code',
    maxlength: String(PASSKEY_CODE_DIGITS),
    pattern: `[0-9]{${PASSKEY_CODE_DIGITS}}`,
  });
  const create = h('button', { type: 'button', class: 'spc-pay', disabled: '' }, 'Create passkey');
  const intro = h('p', { class: 'spc-passkey-intro' }, 'Adding a passkey on this device. Sending a code to your phone…');
  const panel = h(
    'div',
    { class: 'spc-passkey', role: 'group', 'aria-label': 'Add a passkey' },
    intro,
    h('div', { class: 'spc-field' }, h('label', { for: codeId }, 'Code from your messaging app'), h('div', { class: 'spc-input' }, code)),
    create,
  );
  let enrolmentId = '';
  let options: unknown = null;
  void postToVault(PASSKEY_ENROLMENTS_PATH, { pivotToken }).then((started) => {
    if (!started.ok) {
      intro.textContent =
        started.code === 'PASSKEY_ENROLMENT_UNAVAILABLE'
          ? 'This step needs a passkey, and none can be added from this chat. Please ask the agent for another way.'
          : started.code === 'PASSKEY_ENROLMENT_REQUIRES_BANK'
            ? 'To add a passkey on this device, first sign in to the bank.'
            : 'A passkey cannot be added right now. Please try again later.';
      create.remove();
      return;
    }
    ({ enrolmentId, options } = started.json as { enrolmentId: string; options: unknown });
    intro.textContent = 'We sent a code to your phone (the messaging app you wrote to us from, or a text message): enter it, then create the passkey.';
    create.removeAttribute('disabled');
  });
  create.addEventListener('click', (event) => {
    if (!event.isTrusted || create.disabled) return;
    create.disabled = true;
    void (async () => {
      const credential = await prompt('create', options);
      const stored: PostOutcome = credential
        ? await postToVault(PASSKEYS_PATH, { pivotToken, enrolmentId, code: code.value.trim(), credential })
        : { ok: false, code: PROMPT_FAILED };
      create.disabled = false;
      if (stored.ok) {
        code.value = '';
        panel.remove();
        say('Passkey added. Now answer again: your device will ask for it.');
        onDone();
        return;
      }
      say(
        stored.code === 'PASSKEY_ENROLMENT_CODE_WRONG' || stored.code === 'BAD_REQUEST'
          ? 'That is not the code we sent. Check it and try again.'
          : stored.code === PROMPT_FAILED
            ? 'The passkey was not created. Try again when you are ready.'
            : 'The passkey could not be added. Ask for a new request and try again.',
      );
    })();
  });
  return panel;
}
