/**
 * The frame's only way to build DOM: `createElement`, `setAttribute` and `textContent`.
 * No HTML strings, no `innerHTML` (the page runs under `require-trusted-types-for 'script'`
 * with `trusted-types 'none'`, so any HTML sink would throw anyway).
 *
 * @module
 */

export type Child = Node | string | null | undefined | false;

/**
 * Create an element with attributes and children; strings become text nodes.
 * Attribute names are fixed strings of this code base; never pass `on*` or `style`.
 *
 * @example h('label', { for: 'spc-number' }, 'Card number')
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Readonly<Record<string, string>> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, value);
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.append(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return el;
}

/** Replace every child of `parent`. */
export function replaceChildren(parent: Element, ...children: Child[]): void {
  parent.replaceChildren(...children.filter((c): c is Node | string => c !== null && c !== undefined && c !== false));
}

/** A short notice in place of the form (refusals, errors, confirmation). */
export function notice(text: string, role: 'status' | 'alert' = 'status'): HTMLElement {
  return h('p', { class: `spc-notice spc-notice-${role}`, role }, text);
}
