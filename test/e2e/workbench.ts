/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * Driving the workbench of a real VS Code (code-server) with playwright-core and Debian's chromium. Every
 * wait is on the DOM (an element, an attribute, a text), never on time.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Browser, chromium, FrameLocator, Locator, Page } from 'playwright-core';
import { cssColour, Family, themeColours, ThemeKind } from '../../extension/palette';
import { ROOT } from './workspace';

export const CHROMIUM = process.env.METABIONER_CHROMIUM ?? '/usr/lib/chromium/chromium';
export const SCREENSHOTS = path.join(ROOT, 'test', 'screenshots');
const isMac = process.platform === 'darwin';
export const MOD = isMac ? 'Meta' : 'Control';

export async function launchBrowser(home: string): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    env: { ...process.env, HOME: home } as Record<string, string>,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

export class Workbench {
  constructor(readonly page: Page) {}

  static async open(browser: Browser, url: string): Promise<Workbench> {
    const page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
    page.setDefaultTimeout(60_000);
    await page.goto(url);
    await page.locator('.monaco-workbench').waitFor();
    const wb = new Workbench(page);
    await wb.serverReady();
    return wb;
  }

  /** The extension's status bar item says the language server is ready (its accessibility label starts with the state). */
  async serverReady(timeout = 120_000): Promise<string> {
    const item = this.page.locator('[aria-label^="MetaBioNER ready"]').first();
    await item.waitFor({ timeout });
    return (await item.getAttribute('aria-label')) ?? '';
  }

  quickInput(): Locator {
    return this.page.locator('.quick-input-widget');
  }

  /** Picks the visible quick-pick row whose label contains `text`. */
  async pick(text: string): Promise<void> {
    const row = this.quickInput().locator('.monaco-list-row', { hasText: text }).first();
    await row.waitFor();
    await row.click();
  }

  async command(title: string): Promise<void> {
    await this.page.keyboard.press('F1');
    const input = this.quickInput().locator('input');
    await input.waitFor();
    await input.fill(`>${title}`);
    const row = this.quickInput().locator('.monaco-list-row', { hasText: title }).first();
    await row.waitFor();
    await this.page.keyboard.press('Enter');
  }

  /** Quick open (F1, then the file name instead of the command prefix). */
  async openFile(name: string): Promise<void> {
    await this.page.keyboard.press('F1');
    const input = this.quickInput().locator('input');
    await input.waitFor();
    await input.fill(name);
    await this.quickInput().locator('.monaco-list-row', { hasText: path.basename(name) }).first().waitFor();
    await this.page.keyboard.press('Enter');
    await this.page.locator('.tab.active', { hasText: path.basename(name) }).waitFor();
    await this.editor().locator('.view-lines').waitFor();
  }

  editor(): Locator {
    return this.page.locator('.editor-group-container.active .monaco-editor').first();
  }

  /** Selects the first occurrence of `text` in the active editor (find widget, then Escape keeps the match selected). */
  async select(text: string): Promise<void> {
    await this.editor().locator('.view-lines').click();
    await this.page.keyboard.press(`${MOD}+Home`);
    await this.page.keyboard.press(`${MOD}+F`);
    const find = this.page.locator('.editor-group-container.active .find-widget.visible textarea, .editor-group-container.active .find-widget.visible input').first();
    await find.waitFor();
    await find.fill(text);
    await this.page.locator('.editor-group-container.active .find-widget.visible .matchesCount', { hasText: /1 of/ }).waitFor();
    await this.page.keyboard.press('Escape');
    await this.page.locator('.editor-group-container.active .find-widget.visible').waitFor({ state: 'hidden' });
  }

  /** The entity overlays of the active editor: background, underline style and where they are. */
  async decorations(): Promise<{ background: string; borderStyle: string; borderColor: string; x: number; y: number; w: number; h: number }[]> {
    return this.editor().evaluate((root) =>
      [...root.querySelectorAll('.view-overlays .cdr')].map((el) => {
        const s = getComputedStyle(el);
        const r = el.getBoundingClientRect();
        return { background: s.backgroundColor, borderStyle: s.borderBottomStyle, borderColor: s.borderBottomColor, x: r.x, y: r.y, w: r.width, h: r.height };
      }).filter((d) => d.borderStyle === 'dashed' || d.borderStyle === 'solid'),
    );
  }

  async themeKind(): Promise<ThemeKind> {
    const cls = (await this.page.locator('.monaco-workbench').first().getAttribute('class')) ?? '';
    return /\bhc-light\b/.test(cls) ? 'highContrastLight' : /\bhc-black\b/.test(cls) ? 'highContrast' : /\bvs-dark\b/.test(cls) ? 'dark' : 'light';
  }

  /** `rgb()`/`rgba()` of a family's underline and fill in the current theme, as the computed style reports them. */
  async familyColours(family: Family): Promise<{ border: string; background: string }> {
    const c = themeColours(family, await this.themeKind());
    return { border: cssColour(c.border), background: cssColour(c.background) };
  }

  /** Waits until the active editor shows `count` (or more) entities of `family` (dashed: predictions, solid: labels). */
  async waitForFamily(family: Family, style: 'dashed' | 'solid' = 'dashed', count = 1, timeout = 60_000): Promise<void> {
    const want = (await this.familyColours(family)).border;
    await this.page.waitForFunction(
      ({ want, style, count }) =>
        [...document.querySelectorAll('.editor-group-container.active .monaco-editor .view-overlays .cdr')].filter((el) => {
          const s = getComputedStyle(el);
          return s.borderBottomStyle === style && s.borderBottomColor === want;
        }).length >= count,
      { want, style, count },
      { timeout },
    );
  }

  async waitForNoEntities(): Promise<void> {
    await this.page.waitForFunction(() =>
      [...document.querySelectorAll('.editor-group-container.active .monaco-editor .view-overlays .cdr')].every((el) => !['dashed', 'solid'].includes(getComputedStyle(el).borderBottomStyle)),
    );
  }

  notification(text: string | RegExp): Locator {
    return this.page.locator('.notifications-toasts .notification-list-item', { hasText: text }).first();
  }

  /** The training panel: two iframes deep. */
  trainingFrame(): FrameLocator {
    return this.page.frameLocator('iframe.webview.ready').first().frameLocator('iframe#active-frame');
  }

  async screenshot(file: string): Promise<void> {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    await this.page.screenshot({ path: file });
  }
}

/** Two computed colours within rounding of each other. */
export function sameColour(a: string, b: string): boolean {
  const n = (s: string) => (s.match(/[\d.]+/g) ?? []).map(Number);
  const [x, y] = [n(a), n(b)];
  if (x.length === 3) x.push(1);
  if (y.length === 3) y.push(1);
  return x.length === y.length && x.every((v, i) => Math.abs(v - y[i]) <= (i === 3 ? 0.01 : 1));
}
