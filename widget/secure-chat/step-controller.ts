/**
 * The step half of `<secure-chat>`, as a Lit reactive controller: a step card's flow from its
 * button (or a live request) through the step-up, the pivot token and the vault frame to its
 * result, and what the card shows meanwhile.
 *
 * Stale results are dropped the same way as in SessionController: each run of a step has an
 * AbortController. Running a step again aborts its previous run; a session teardown
 * ({@link StepController.reset}) aborts them all. The pivot token fetch takes the signal, and a
 * run that finds its signal aborted after an await stops without touching the card.
 *
 * @module
 */
import type { ReactiveController, TemplateResult } from 'lit';
import { safeParse } from 'valibot';
import type { ConversationEvent } from '../../protocol/chat.ts';
import { LocaleSchema, ThemeSchema, type BeginArgs } from '../../protocol/frame.ts';
import { acrAtLeast, type Acr } from '../../protocol/pivot-token.ts';
import { CUSTOMER_VIEWS } from '../../protocol/steps/index.ts';
import { asRequestError, requestPivotToken } from './chat-api.ts';
import { emit } from './events.ts';
import { originOf } from './frame-messages.ts';
import { renderStep, type StepView } from './secure-chat.templates.ts';
import type { ChatHost, Follow, SessionController, StepHooks } from './session-controller.ts';
import { openSteps, stepResult, type TimelineItem } from './timeline.ts';
import type { VaultFrame, VaultFrameUpdate } from './vault-frame.ts';

/**
 * The vault frame's host code (and Comlink) is not part of the chat's first open: it is loaded
 * when the first step needs a frame, once per page.
 */
let vaultFrameCode: Promise<typeof import('./vault-frame.ts')> | undefined;

export class StepController implements ReactiveController, StepHooks {
  #host: ChatHost;
  #session: SessionController;
  #follow: Follow;
  #views = new Map<string, StepView>();
  #frames = new Map<string, VaultFrame>();
  /** The running (or last) run of each step. */
  #runs = new Map<string, AbortController>();
  #awaitingStepUp = new Set<string>();
  #completedEmitted = new Set<string>();
  /** The frame the customer opened with the card's button: it takes the keyboard once its form is there. */
  #pressed?: VaultFrame;

  constructor(host: ChatHost, session: SessionController, follow: Follow) {
    this.#host = host;
    this.#session = session;
    this.#follow = follow;
    session.steps = this;
    host.addController(this);
  }

  hostDisconnected(): void {
    this.reset();
  }

  /** The card of one step in the log. */
  card(item: Extract<TimelineItem, { kind: 'step' }>): TemplateResult {
    const id = item.step.id;
    // The card's own button is a deliberate press: the keyboard follows it into the frame.
    return renderStep(item, this.#views.get(id) ?? { phase: 'idle' }, this.#frames.get(id)?.iframe, this.#host.locale, () => void this.run(id, true));
  }

  receive(events: readonly ConversationEvent[], live: boolean): void {
    for (const event of events) {
      if (event.kind === 'step' && live) {
        // A live request: open the panel and start the step right away.
        this.#host.open = true;
        void this.run(event.step.id);
      } else if (event.kind === 'step_completed') {
        this.#awaitingStepUp.delete(event.stepId);
        this.#leave(event.stepId, { phase: 'done', result: stepResult(event) ?? undefined }, '.done');
      }
    }
  }

  resume(force: boolean): void {
    const open = openSteps(this.#session.sync?.events ?? []);
    const acr = this.#session.session?.acr;
    for (const stepId of this.#awaitingStepUp) {
      const step = open.get(stepId);
      if (!force && step && acr && !acrAtLeast(acr, step.requiredAcr)) continue;
      this.#awaitingStepUp.delete(stepId);
      this.#views.delete(stepId);
      void this.run(stepId);
    }
  }

  reset(clear?: boolean): void {
    for (const run of this.#runs.values()) run.abort();
    this.#runs.clear();
    for (const frame of this.#frames.values()) frame.destroy();
    this.#frames.clear();
    for (const [id, view] of this.#views) if (clear || view.phase !== 'done') this.#views.delete(id);
    this.#awaitingStepUp.clear();
  }

  /**
   * Runs a step: step-up if it needs one, then the frame and its pivot token. `focus`: the
   * customer pressed the card's button, so the frame takes the keyboard (the next Tab enters its
   * form); a step that arrives by itself never does (vault/BOUNDARY.md §10).
   */
  async run(stepId: string, focus?: boolean): Promise<void> {
    const { server, session } = this.#session;
    const step = openSteps(this.#session.sync?.events ?? []).get(stepId);
    const phase = this.#views.get(stepId)?.phase;
    if (!server || !session || !step || phase === 'loading' || phase === 'frame' || phase === 'done') return;
    this.#runs.get(stepId)?.abort();
    const run = new AbortController();
    this.#runs.set(stepId, run);
    const { signal } = run;
    this.#setView(stepId, { phase: 'loading' });
    let VaultFrameClass: typeof VaultFrame;
    try {
      VaultFrameClass = (await (vaultFrameCode ??= import('./vault-frame.ts'))).VaultFrame;
    } catch {
      vaultFrameCode = undefined;
      if (signal.aborted) return;
      const message = 'The secure payment form could not be started.';
      this.#setView(stepId, { phase: 'error', message });
      this.#fail('VAULT_FRAME_UNAVAILABLE', message);
      return;
    }
    if (signal.aborted) return;
    const openFrame = (vaultOrigin: string): VaultFrame => {
      const frame: VaultFrame = new VaultFrameClass({
        vaultOrigin,
        stepId,
        title: CUSTOMER_VIEWS[step.step.kind].frameTitle,
        onUpdate: (update) => this.#onFrameUpdate(stepId, frame, update),
      });
      this.#frames.set(stepId, frame);
      this.#setView(stepId, { phase: 'frame' });
      this.#follow(true);
      if (focus) this.#pressed = frame;
      return frame;
    };
    // The step names the level it needs: step up first (silently, if the page's login already
    // vouches for the customer). Not raised, the token is asked for all the same: for a customer
    // who came by a pivot link and holds a passkey, the server signs one that only the passkey
    // can answer (the one tap); for anyone else it says STEP_UP_REQUIRED and the login shows.
    let silentTried = false;
    if (!acrAtLeast(session.acr, step.requiredAcr)) {
      silentTried = true;
      await this.#session.stepUp();
      if (signal.aborted) return;
    }
    // With the vault origin configured, the frame loads while the token is fetched.
    const configured = originOf(this.#host.vault);
    if (configured) openFrame(configured);
    let response;
    for (;;) {
      try {
        response = await requestPivotToken(server, this.#session.session?.session ?? session.session, stepId, signal);
        break;
      } catch (error) {
        if (signal.aborted) return;
        this.#dropFrame(stepId);
        const failure = asRequestError(error);
        if (failure.code === 'STEP_UP_REQUIRED') {
          if (!silentTried) {
            silentTried = true;
            const raised = await this.#session.stepUp();
            if (signal.aborted) return;
            if (raised) {
              if (configured) openFrame(configured);
              continue;
            }
          }
          return this.#needLogin(stepId, step.requiredAcr);
        }
        this.#setView(stepId, { phase: 'error', message: failure.message });
        this.#fail(failure.code, failure.message);
        if (failure.status === 401) this.#session.restart();
        return;
      }
    }
    if (signal.aborted) return;
    const named = originOf(response.vaultOrigin);
    if (!named || named !== (this.#host.vault ? configured : named)) {
      this.#dropFrame(stepId);
      const message = 'The payment form is hosted on an unexpected origin; it was not opened.';
      this.#setView(stepId, { phase: 'error', message });
      this.#fail('VAULT_ORIGIN_MISMATCH', message);
      return;
    }
    (this.#frames.get(stepId) ?? openFrame(named)).begin(this.#beginArgs(response.token));
  }

  #dropFrame(stepId: string): void {
    this.#frames.get(stepId)?.destroy();
    this.#frames.delete(stepId);
  }

  /**
   * Shows `view` with the frame still in place, then, if the keyboard was in the frame, moves it
   * to the card's `selector` (the result, or the button) BEFORE removing the frame: once the
   * frame is gone, focus would already have fallen to <body>.
   */
  #leave(stepId: string, view: StepView, selector: string): void {
    const frame = this.#frames.get(stepId);
    this.#setView(stepId, view);
    if (frame)
      void this.#host.updateComplete.then(() => {
        const root = this.#host.renderRoot as ShadowRoot | undefined;
        if (root?.activeElement === frame.iframe) root.querySelector<HTMLElement>(`[data-step-id="${stepId}"] ${selector}`)?.focus();
        frame.destroy();
        if (this.#frames.get(stepId) === frame) this.#frames.delete(stepId);
      });
  }

  #needLogin(stepId: string, requiredAcr: Acr): void {
    this.#awaitingStepUp.add(stepId);
    this.#setView(stepId, { phase: 'login' });
    emit(this.#host, 'spc-login-required', { stepId, requiredAcr });
  }

  #beginArgs(token: string): BeginArgs {
    const { locale, accent } = this.#host;
    const args: BeginArgs = { token };
    if (locale && safeParse(LocaleSchema, locale).success) args.locale = locale;
    if (accent && safeParse(ThemeSchema, { accent }).success) args.theme = { accent };
    return args;
  }

  #onFrameUpdate(stepId: string, frame: VaultFrame, update: VaultFrameUpdate): void {
    if (this.#frames.get(stepId) !== frame) return;
    switch (update.type) {
      case 'begun':
        return;
      case 'ready':
        this.#setView(stepId, { phase: 'frame', ready: true });
        // Not before: an iframe focused before its document loaded is skipped by the next Tab.
        if (frame === this.#pressed) void this.#host.updateComplete.then(() => frame.iframe.focus());
        return;
      case 'dismiss':
        // Escape in the frame (only once begun: the run is over): close the form; the step stays open on its button.
        this.#leave(stepId, { phase: 'idle' }, 'button');
        return;
      case 'complete': {
        const result = stepResult(update.event);
        this.#leave(stepId, { phase: 'done', result: result ?? undefined }, '.done');
        if (result && !this.#completedEmitted.has(stepId)) {
          this.#completedEmitted.add(stepId);
          emit(this.#host, 'spc-step-completed', { stepId, ...result });
        }
        return;
      }
      case 'error':
        if (update.fatal) {
          this.#frames.delete(stepId);
          this.#setView(stepId, { phase: 'error', message: update.message });
        } else {
          this.#setView(stepId, { ...this.#views.get(stepId), phase: 'frame', message: update.message });
        }
        this.#fail(update.code, update.message);
        return;
    }
  }

  #setView(stepId: string, view: StepView): void {
    this.#views.set(stepId, view);
    this.#host.requestUpdate();
  }

  /** Step failures show on their card, not as the panel's notice. */
  #fail(code: string, message: string): void {
    emit(this.#host, 'spc-error', { code, message });
  }
}
