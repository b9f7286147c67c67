// The few DOM globals that functions handed to playwright's page.evaluate / waitForFunction use: those functions run
// in the page, but this program is compiled without the DOM lib (it clashes with @types/node's webcrypto). A file that
// needs them declares them at module scope: `declare const document: PageDocument;`.

export interface PageElement {
  textContent: string | null;
  getAttribute(name: string): string | null;
}

export interface PageDocument {
  cookie: string;
  body: PageElement;
  documentElement: { scrollWidth: number };
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): ArrayLike<PageElement> & Iterable<PageElement>;
}

export interface PageWindow {
  innerWidth: number;
  location: { hash: string };
  getComputedStyle(e: PageElement): { backgroundColor: string };
}

export interface PageMutationObserver {
  new (callback: () => void): { observe(target: PageElement, options: { childList: boolean; subtree: boolean }): void };
}
