// The messaging simulator: sends the customer's messages as signed webhooks (through the
// doubles server) and polls for the business's replies. No inline script; text is set with
// textContent only; links open in a new tab without an opener.
const POLL_MS = 1000;
const $ = (id) => document.getElementById(id);
const platform = $('platform');
const user = $('user');
const thread = $('thread');
const status = $('status');
let config = null;
let after = 0;

function bubble(m) {
  const li = document.createElement('li');
  li.className = 'bubble';
  li.setAttribute('data-testid', 'sim-message');
  li.dataset.from = m.from;
  li.textContent = m.text;
  if (m.link && /^https?:\/\//.test(m.link.url)) {
    const a = document.createElement('a');
    a.href = m.link.url;
    a.target = '_blank';
    a.rel = 'noopener noreferrer';
    a.setAttribute('data-testid', 'sim-link');
    a.textContent = m.link.title;
    li.append(a);
  }
  thread.append(li);
  thread.scrollTop = thread.scrollHeight;
}

// Polls never overlap (a timer tick and a poll after sending would otherwise both fetch the
// same page and show it twice), a message is shown once by id, and a poll started before the
// platform or user changed shows nothing.
let polling = null;
let generation = 0;

function poll() {
  polling ??= (async () => {
    const started = generation;
    try {
      const q = new URLSearchParams({ platform: platform.value, user: user.value, after: String(after) });
      const res = await fetch(`/sim/messages?${q}`, { cache: 'no-store' });
      if (res.ok && started === generation) {
        const { messages } = await res.json();
        for (const m of messages) {
          if (started !== generation || m.id <= after) continue;
          bubble(m);
          after = m.id;
        }
      }
    } catch {
      // The next poll retries.
    } finally {
      polling = null;
    }
  })();
  return polling;
}

function reset() {
  generation += 1;
  thread.replaceChildren();
  after = 0;
  void poll().then(() => poll());
}

platform.addEventListener('change', () => {
  user.value = config?.users[platform.value] ?? '';
  reset();
});
user.addEventListener('change', reset);

$('composer').addEventListener('submit', async (event) => {
  event.preventDefault();
  const text = $('input').value.trim();
  if (!text) return;
  $('input').value = '';
  status.textContent = '';
  const res = await fetch('/sim/deliver', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ platform: platform.value, user: user.value, text, name: config?.name ?? 'Robert' }),
  });
  const out = await res.json().catch(() => ({}));
  if (!res.ok || out.status !== 200) status.textContent = `Not delivered (${out.status ?? res.status}).`;
  // The first may be a poll already under way that started before the message existed.
  await poll();
  await poll();
});

const res = await fetch('/sim/config', { cache: 'no-store' });
config = await res.json();
for (const option of platform.options) option.disabled = !config.platforms[option.value];
const first = [...platform.options].find((o) => !o.disabled);
if (first) platform.value = first.value;
user.value = config.users[platform.value] ?? '';
reset();
setInterval(poll, POLL_MS);
