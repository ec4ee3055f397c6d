// The findings of a run with their suggested fixes as buttons: shared by the panel and the sidebar. The first
// fix (the diagnosis ranks them) gets "Apply" and "Apply and re-train"; the others wait behind a disclosure.

import type { Finding, SuggestedFix } from './types';
import { h, rebuildKeepingFocus, toggleClass } from './dom';
import { SEVERITY_LABEL, SEVERITY_RANK } from './format';

export interface FindingHandlers {
  /** The user asked to see the finding (its step and layer). */
  reveal(finding: Finding): void;
  apply(finding: Finding, fix: SuggestedFix, retrain: boolean): void;
}

export function sortFindings(findings: Finding[]): Finding[] {
  return [...findings].sort((a, b) => SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] || (a.firstStep ?? 0) - (b.firstStep ?? 0));
}

/** Where a finding is: its layer (and the others it concerns), its steps. */
export function findingWhere(f: Finding): string {
  const parts: string[] = [];
  const names = f.layers && f.layers.length > 1 ? f.layers.map(l => l.name) : f.layer ? [f.layer] : [];
  if (names.length) parts.push(names.length > 4 ? `${names.slice(0, 3).join(', ')} and ${names.length - 3} more layers` : names.join(', '));
  if (f.firstStep !== undefined) parts.push(f.lastStep !== undefined && f.lastStep !== f.firstStep ? `steps ${f.firstStep}–${f.lastStep}` : `step ${f.firstStep}`);
  return parts.join(' · ');
}

export class FindingsList {
  readonly el: HTMLUListElement;
  private signature = '';
  private readonly items = new Map<string, { li: HTMLElement; where: Text; title: HTMLElement }>();

  constructor(private readonly handlers: FindingHandlers, private readonly options: { reasons: boolean }) {
    this.el = h('ul', { class: 'findings' });
  }

  /**
   * Rebuilds only when the findings changed, not when one that persists reaches a later step (its step range is
   * updated in place): a rebuild 4×/s would swallow clicks on its fix buttons and close its disclosures.
   */
  update(findings: Finding[], highlighted?: string): void {
    const sorted = sortFindings(findings);
    const signature = JSON.stringify(sorted.map(f => [f.id, f.severity, f.title, f.layer, f.firstStep, f.docs, f.explanation, f.fixes.map(x => [x.id, x.title, x.reason])]));
    if (signature !== this.signature) {
      this.signature = signature;
      this.items.clear();
      rebuildKeepingFocus(this.el, () => sorted.map(f => {
        const item = this.item(f);
        this.items.set(f.id, item);
        return item.li;
      }));
    }
    for (const f of sorted) {
      const item = this.items.get(f.id)!;
      const where = findingWhere(f);
      if (item.where.data !== where) {
        item.where.data = where;
        item.title.title = where ? `Show ${where}` : 'Show this finding';
      }
    }
    for (const [id, item] of this.items) toggleClass(item.li, 'highlighted', id === highlighted);
  }

  element(findingId: string): HTMLElement | undefined {
    return this.items.get(findingId)?.li;
  }

  private item(f: Finding): { li: HTMLLIElement; where: Text; title: HTMLElement } {
    const where = findingWhere(f);
    const whereText = document.createTextNode(where);
    const title = h('button', {
      class: 'link finding-title', type: 'button', text: f.title, 'data-key': `reveal:${f.id}`,
      title: where ? `Show ${where}` : 'Show this finding',
    });
    title.addEventListener('click', () => this.handlers.reveal(f));
    const severity = h('span', { class: `severity severity-${f.severity}`, text: SEVERITY_LABEL[f.severity] });
    const meta = h('p', { class: 'finding-meta' }, whereText);
    if (f.docs) {
      if (where) meta.append(' · ');
      meta.append(h('a', { href: f.docs, text: 'about this rule', title: f.rule }));
    }
    // The explanation is a paragraph: behind a disclosure, so four findings do not push the charts off screen.
    const explanation = h('details', { class: 'finding-explanation' }, h('summary', { text: 'Why it matters' }), h('p', { text: f.explanation }));
    const [first, ...others] = f.fixes;
    const fixes = h('div', { class: 'fixes' });
    if (first) fixes.append(this.fix(f, first, true));
    if (others.length) {
      fixes.append(h('details', { class: 'more-fixes' },
        h('summary', { text: `${others.length} more fix${others.length > 1 ? 'es' : ''}` }),
        ...others.map(x => this.fix(f, x, false))));
    }
    const li = h('li', { class: `finding finding-${f.severity}`, 'data-finding': f.id },
      h('div', { class: 'finding-head' }, severity, title), meta, explanation, f.fixes.length ? fixes : undefined);
    return { li, where: whereText, title };
  }

  private fix(f: Finding, fix: SuggestedFix, primary: boolean): HTMLElement {
    const apply = h('button', {
      class: primary ? 'button primary' : 'button secondary', type: 'button', 'data-key': `apply:${f.id}:${fix.id}`,
      text: `Apply: ${fix.title}`, title: fix.reason, 'aria-label': `Apply fix “${fix.title}” to the config`,
    });
    const retrain = h('button', {
      class: 'button secondary', type: 'button', 'data-key': `retrain:${f.id}:${fix.id}`,
      text: 'Apply and re-train', 'aria-label': `Apply fix “${fix.title}” and train again`,
    });
    apply.addEventListener('click', () => this.handlers.apply(f, fix, false));
    retrain.addEventListener('click', () => this.handlers.apply(f, fix, true));
    return h('div', { class: 'fix', 'data-fix': fix.id },
      h('div', { class: 'fix-buttons' }, apply, retrain),
      this.options.reasons ? h('p', { class: 'fix-reason', text: fix.reason }) : undefined);
  }
}
