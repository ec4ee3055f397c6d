// Chart legends as HTML rather than drawn by Chart.js: readable by screen readers, and cheaper (Chart.js would
// build and filter a legend item for each of 50+ layer datasets on every update).

import { h, setText, show } from '../shared/dom';

export interface LegendItem {
  key: string;
  label: string;
  color: string;
  mark: 'line' | 'dashed' | 'band' | 'dot' | 'triangle' | 'diamond';
  hidden?: boolean;
}

const GLYPH: Partial<Record<LegendItem['mark'], string>> = { triangle: '▲', diamond: '◆', dot: '●' };

export class Legend {
  readonly el: HTMLUListElement;
  private readonly items = new Map<string, { li: HTMLLIElement; swatch: HTMLElement; text: HTMLElement }>();

  constructor(label: string) {
    this.el = h('ul', { class: 'legend', 'aria-label': label });
  }

  update(items: LegendItem[]): void {
    for (const item of items) {
      let e = this.items.get(item.key);
      if (!e) {
        const swatch = h('span', { class: `legend-mark legend-${item.mark}`, 'aria-hidden': 'true', text: GLYPH[item.mark] ?? '' });
        const text = h('span', {});
        const li = h('li', {}, swatch, text);
        this.el.append(li);
        this.items.set(item.key, (e = { li, swatch, text }));
      }
      setText(e.text, item.label);
      show(e.li, !item.hidden);
      if (e.swatch.dataset.color !== item.color) {
        e.swatch.dataset.color = item.color;
        if (GLYPH[item.mark]) e.swatch.style.color = item.color;
        else if (item.mark === 'band') e.swatch.style.backgroundColor = item.color;
        else e.swatch.style.borderTopColor = item.color;
      }
    }
  }
}
