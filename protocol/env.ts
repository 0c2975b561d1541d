/**
 * How every service reads its environment, so that a variable means the same in every realm:
 * blank counts as unset, an origin is only scheme + host + port (a path is refused, not
 * stripped), a flag is on/off (a typo is refused, not read as off), ports and counts are whole
 * numbers in range. A malformed value stops the service at start with {@link ConfigError}, which
 * names the variable; nothing is guessed.
 *
 * The operator's contract (every variable and its default) is docs/CONTRACTS.md and README.md.
 *
 * @module
 */

/** A variable the service cannot start with; `variable` names it. */
export class ConfigError extends Error {
  readonly variable: string;
  constructor(variable: string, expected: string, value?: string) {
    super(`${variable} must be ${expected}${value === undefined ? '' : `, got "${value}"`}`);
    this.name = 'ConfigError';
    this.variable = variable;
  }
}

export type Env = Readonly<Record<string, string | undefined>>;

/** Flag words, lower case. */
const ON = ['1', 'true', 'yes', 'on'];
const OFF = ['0', 'false', 'no', 'off'];

/** A reader of `env` with the shared rules; each method names its variable in its error. */
export interface EnvReader {
  /** The trimmed value, or undefined when unset or blank. */
  get(name: string): string | undefined;
  port(name: string, fallback: number): number;
  /** An http(s) origin: scheme, host, optional port; nothing else. */
  origin(name: string, fallback: string): string;
  /** A comma-separated list of origins (duplicates dropped); at least one. */
  origins(name: string, fallback: string): string[];
  /** An absolute http(s) URL. */
  url(name: string, fallback: string): string;
  /** An absolute http(s) URL without trailing slashes, to append paths to. */
  baseUrl(name: string, fallback: string): string;
  /** on/off (also 1/0, true/false, yes/no); anything else is refused. */
  flag(name: string, fallback: boolean): boolean;
  /** A whole number in [min, max]. */
  wholeNumber(name: string, fallback: number, min: number, max?: number): number;
}

export function parseOrigin(value: string, name: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(name, 'an origin such as https://www.bank.example', value);
  }
  const bare = (url.pathname === '/' || url.pathname === '') && !url.search && !url.hash && !url.username && !url.password;
  if (!bare || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    throw new ConfigError(name, 'an http(s) origin: scheme, host and port only, no path', value);
  }
  return url.origin;
}

export function parseUrl(value: string, name: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(name, 'an absolute http(s) URL', value);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigError(name, 'an absolute http(s) URL', value);
  return url.href;
}

export function envReader(env: Env): EnvReader {
  const get = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  const wholeNumber = (name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number => {
    const raw = get(name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!/^[0-9]+$/.test(raw) || !Number.isSafeInteger(n) || n < min || n > max) throw new ConfigError(name, `a whole number from ${min} to ${max}`, raw);
    return n;
  };
  return {
    get,
    wholeNumber,
    port: (name, fallback) => wholeNumber(name, fallback, 0, 65535),
    origin: (name, fallback) => parseOrigin(get(name) ?? fallback, name),
    origins(name, fallback) {
      const list = (get(name) ?? fallback)
        .split(',')
        .map((entry) => entry.trim())
        .filter((entry) => entry !== '')
        .map((entry) => parseOrigin(entry, name));
      if (list.length === 0) throw new ConfigError(name, 'at least one origin');
      return [...new Set(list)];
    },
    url: (name, fallback) => parseUrl(get(name) ?? fallback, name),
    baseUrl: (name, fallback) => parseUrl(get(name) ?? fallback, name).replace(/\/+$/, ''),
    flag(name, fallback) {
      const raw = get(name);
      if (raw === undefined) return fallback;
      if (ON.includes(raw.toLowerCase())) return true;
      if (OFF.includes(raw.toLowerCase())) return false;
      throw new ConfigError(name, 'on or off', raw);
    },
  };
}
