// The layer list of the panel: which layers the charts show (checkboxes, all/none, a search box for long
// models) and which one the histogram and distribution views look at. Rows are built once per model and
// updated in place, so a snapshot never steals the focus or the scroll position.

import type { LayerHealth } from '../shared/types';
import { h, setAttr, setText, show, toggleClass } from '../shared/dom';
import { formatNumber, HEALTH_DESCRIPTION, HEALTH_GLYPH, HEALTH_LABEL } from '../shared/format';

/** From this many layers on, the search box is shown. */
const SEARCH_FROM = 10;

export interface LayerRow {
  name: string;
  type: string;
  health: LayerHealth;
  /** Gradient norm at the viewed step. */
  norm?: number;
  color: string;
  visible: boolean;
  selected: boolean;
}

export interface LayerFilterHandlers {
  setVisible(names: string[], visible: boolean): void;
  select(name: string): void;
}

interface RowElements {
  li: HTMLLIElement;
  checkbox: HTMLInputElement;
  swatch: HTMLElement;
  name: HTMLButtonElement;
  norm: HTMLElement;
  badge: HTMLElement;
}

export class LayerFilter {
  readonly el: HTMLElement;
  private readonly search: HTMLInputElement;
  private readonly count: HTMLElement;
  private readonly list: HTMLUListElement;
  private readonly rows = new Map<string, RowElements>();
  private names = '';
  private data: LayerRow[] = [];

  constructor(private readonly handlers: LayerFilterHandlers) {
    this.search = h('input', { type: 'search', class: 'layer-search', placeholder: 'Filter layers', 'aria-label': 'Filter layers by name' });
    this.search.addEventListener('input', () => this.applySearch());
    const all = h('button', { class: 'button secondary small', type: 'button', text: 'All', 'aria-label': 'Show all listed layers in the charts' });
    const none = h('button', { class: 'button secondary small', type: 'button', text: 'None', 'aria-label': 'Hide all listed layers from the charts' });
    all.addEventListener('click', () => this.handlers.setVisible(this.matching(), true));
    none.addEventListener('click', () => this.handlers.setVisible(this.matching(), false));
    this.count = h('span', { class: 'layer-count', 'aria-live': 'polite' });
    this.list = h('ul', { class: 'layer-list', 'aria-label': 'Layers' });
    this.el = h('section', { class: 'layer-filter', 'aria-labelledby': 'layers-heading' },
      h('div', { class: 'card-head' }, h('h2', { id: 'layers-heading', text: 'Layers' }), this.count),
      this.search,
      h('div', { class: 'layer-actions' }, all, none),
      this.list);
  }

  private matching(): string[] {
    const q = this.search.value.trim().toLowerCase();
    return this.data.filter(r => !q || r.name.toLowerCase().includes(q) || r.type.toLowerCase().includes(q)).map(r => r.name);
  }

  private applySearch(): void {
    const keep = new Set(this.matching());
    for (const [name, row] of this.rows) show(row.li, keep.has(name));
    this.updateCount();
  }

  private updateCount(): void {
    const visible = this.data.filter(r => r.visible).length;
    const listed = this.matching().length;
    const text = `${visible} of ${this.data.length} in charts` + (listed !== this.data.length ? ` · ${listed} listed` : '');
    setText(this.count, text);
  }

  update(rows: LayerRow[]): void {
    this.data = rows;
    const names = rows.map(r => r.name).join('\n');
    if (names !== this.names) {
      this.names = names;
      this.rows.clear();
      this.list.replaceChildren(...rows.map((r, i) => {
        const id = `layer-${i}`;
        const checkbox = h('input', { type: 'checkbox', id, 'aria-label': `Show ${r.name} in the charts` });
        checkbox.addEventListener('change', () => this.handlers.setVisible([r.name], checkbox.checked));
        const swatch = h('span', { class: 'swatch', 'aria-hidden': 'true' });
        const name = h('button', { class: 'link layer-name', type: 'button', text: r.name, title: `${r.name} (${r.type})` });
        name.addEventListener('click', () => this.handlers.select(r.name));
        const norm = h('span', { class: 'layer-norm' });
        const badge = h('span', { class: 'badge', role: 'img' });
        const li = h('li', { class: 'layer-row', 'data-layer': r.name }, checkbox, swatch, name, norm, badge);
        this.rows.set(r.name, { li, checkbox, swatch, name, norm, badge });
        return li;
      }));
      show(this.search, rows.length >= SEARCH_FROM);
      this.applySearch();
    }
    for (const r of rows) {
      const e = this.rows.get(r.name)!;
      if (e.checkbox.checked !== r.visible) e.checkbox.checked = r.visible;
      if (e.swatch.dataset.color !== r.color) {
        e.swatch.dataset.color = r.color;
        e.swatch.style.backgroundColor = r.color;
      }
      toggleClass(e.li, 'selected', r.selected);
      toggleClass(e.li, 'hidden-layer', !r.visible);
      setAttr(e.name, 'aria-pressed', String(r.selected));
      setAttr(e.name, 'aria-label', `${r.name}: ${r.selected ? 'selected for' : 'select for'} the histogram and distribution`);
      setText(e.norm, formatNumber(r.norm));
      toggleClass(e.norm, 'nonfinite', r.norm !== undefined && !Number.isFinite(r.norm));
      setAttr(e.norm, 'title', 'gradient norm at the viewed step');
      setText(e.badge, `${HEALTH_GLYPH[r.health]} ${HEALTH_LABEL[r.health]}`);
      setAttr(e.badge, 'class', `badge health-${r.health}`);
      setAttr(e.badge, 'aria-label', `Health: ${HEALTH_LABEL[r.health]}, ${HEALTH_DESCRIPTION[r.health]}`);
    }
    this.updateCount();
  }

  /** Brings a layer's row into view (after a finding selected it). */
  reveal(name: string): void {
    const row = this.rows.get(name);
    if (!row) return;
    if (row.li.hidden) {
      this.search.value = '';
      this.applySearch();
    }
    row.li.scrollIntoView({ block: 'nearest' });
  }
}
