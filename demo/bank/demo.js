// Demo Bank's own page script (external: the page's CSP allows no inline script).
// It wires the bank's login to the chat widget: the identity provider, the login prompt when the
// chat asks for it, and refreshIdentity() after signing in.

const STORAGE_KEY = 'demo-bank:user';
const SUBJECT = /^[A-Za-z0-9_.@-]{1,64}$/;

const chat = document.querySelector('secure-chat');
const dialog = document.getElementById('sign-in-dialog');
const form = document.getElementById('sign-in-form');
const reason = document.getElementById('sign-in-reason');
const signInButton = document.getElementById('sign-in');
const signOutButton = document.getElementById('sign-out');
const userLabel = document.getElementById('user');
const hint = document.getElementById('accounts-hint');

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
  if (!dialog.open) dialog.showModal();
}

// The widget asks this whenever it needs to know who the customer is. A real bank would return a
// signed assertion from its IdP here; the demo server accepts {type: 'demo'} (DEMO_LOGIN=1).
if (chat) {
  chat.identityProvider = async () => (user ? { type: 'demo', subject: user } : null);
  chat.addEventListener('spc-login-required', () => openSignIn(true));
}

signInButton.addEventListener('click', () => openSignIn(false));
document.getElementById('sign-in-cancel').addEventListener('click', () => dialog.close());

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const typed = String(new FormData(form).get('user') || '').trim();
  user = SUBJECT.test(typed) ? typed : 'robert';
  writeUser(user);
  dialog.close();
  render();
  if (chat) {
    await customElements.whenDefined('secure-chat');
    await chat.refreshIdentity();
  }
});

signOutButton.addEventListener('click', () => {
  user = null;
  writeUser(null);
  render();
});

render();
