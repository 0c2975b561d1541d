// Baseline: the smallest useful Lit element, built the same way as the widget.
import { LitElement, css, html } from 'lit';

class HelloWorld extends LitElement {
  static override styles = css`:host { display: block; }`;
  static override properties = { name: { type: String } };
  declare name: string;
  constructor() {
    super();
    this.name = 'world';
  }
  override render() {
    return html`<p>Hello, ${this.name}!</p>`;
  }
}
customElements.define('hello-world', HelloWorld);
