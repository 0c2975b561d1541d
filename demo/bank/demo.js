// Demo Bank's own page script (external: the page's CSP allows no inline script).
// It wires the bank's login to the chat widget: the identity provider (an OpenID Connect
// id_token from the bank's IdP, /idp on this origin, for the nonce the chat asks for), the login
// prompt when the chat asks for it, and refreshIdentity() after signing in.

const STORAGE_KEY = 'demo-bank:user';
const SUBJECT = /^[A-Za-z0-9_.@-]{1,64}$/;

const chat = document.querySelector('secure-chat');
const dialog = document.getElementById('sign-in-dialog');
const form = document.getElementById('sign-in-form');
const reason = document.getElementById('sign-in-reason');
const failure = document.getElementById('sign-in-error');
const signInButton = document.getElementById('sign-in');
const signOutButton = document.getElementById('sign-out');
const userLabel = document.getElementById('user');
const hint = document.getElementById('accounts-hint');

// The name shown while the IdP's session (an HttpOnly cookie on /idp) lasts; a reload keeps both.
let user = readUser();

function readUser() {
  try {
    return sessionStorage.getItem(STORAGE_KEY);
  } catch {
    return null;
  }
}

function writeUser(value) {
  try {
    if (value) sessionStorage.setItem(STORAGE_KEY, value);
    else sessionStorage.removeItem(STORAGE_KEY);
  } catch {
    // storage disabled: signed in for this page only
  }
}

async function postIdp(path, body) {
  const response = await fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    credentials: 'same-origin',
    cache: 'no-store',
  });
  return response.ok ? response.json().catch(() => ({})) : null;
}

function render() {
  signInButton.hidden = Boolean(user);
  signOutButton.hidden = !user;
  userLabel.hidden = !user;
  userLabel.textContent = user ? `Signed in as ${user}` : '';
  hint.hidden = Boolean(user);
  for (const balance of document.querySelectorAll('.balance')) {
    balance.textContent = user ? balance.dataset.balance : '—';
  }
}

function openSignIn(forChat) {
  reason.hidden = !forChat;
  failure.hidden = true;
  if (!dialog.open) dialog.showModal();
}

// The widget calls this with a nonce of its own whenever it needs to know who the customer is:
// the bank's IdP answers with an id_token carrying that nonce, or null when nobody is signed in.
if (chat) {
  chat.identityProvider = async ({ nonce }) => {
    if (!user || typeof nonce !== 'string') return null;
    const answer = await postIdp('/idp/token', { nonce });
    if (!answer) {
      // The IdP session ended (expired, or the IdP restarted): the page is signed out.
      user = null;
      writeUser(null);
      render();
      return null;
    }
    return typeof answer.id_token === 'string' ? answer.id_token : null;
  };
  chat.addEventListener('spc-login-required', () => openSignIn(true));
}

signInButton.addEventListener('click', () => openSignIn(false));
document.getElementById('sign-in-cancel').addEventListener('click', () => dialog.close());

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const data = new FormData(form);
  const typed = String(data.get('user') || '').trim();
  const username = SUBJECT.test(typed) ? typed : 'robert';
  const answer = await postIdp('/idp/login', { username, password: String(data.get('password') || '') });
  if (!answer) {
    failure.hidden = false;
    return;
  }
  user = username;
  writeUser(user);
  dialog.close();
  render();
  if (chat) {
    await customElements.whenDefined('secure-chat');
    await chat.refreshIdentity();
  }
});

signOutButton.addEventListener('click', async () => {
  user = null;
  writeUser(null);
  render();
  await postIdp('/idp/logout', {});
});

render();
