// Reaching the page's elements with their types checked: the page is ours, so an element that is
// missing or of another kind is a bug, and it throws where it is met instead of later as undefined.

type ElementType<T extends Element> = { new (): T; prototype: T };

export function element(id: string): HTMLElement;
export function element<T extends Element>(id: string, type: ElementType<T>): T;
export function element(id: string, type: ElementType<Element> = HTMLElement): Element {
  const found = document.getElementById(id);
  if (!(found instanceof type)) throw new Error(`the page has no ${type.name} #${id}`);
  return found;
}

/** The element an event happened in or under that matches `selector`, if any. */
export function closest(event: Event, selector: string): HTMLElement | null {
  return event.target instanceof Element ? event.target.closest<HTMLElement>(selector) : null;
}

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Text made safe inside HTML markup and attribute values: names and errors come from users. */
export function esc(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (ch) => ENTITIES[ch] ?? ch);
}
