// The contracts the webviews render, as types only (nothing from the host is bundled into the page).
export type { HeatColumn, LayerHealth, LayerLatest, Num, RunSnapshot, SeriesData } from '../../src/history/runHistory';
export type {
  Finding, Histogram, HostToPanel, HostToSidebar, PanelToHost, PanelViewState, RunListEntry, Severity, SidebarModel,
  SidebarToHost, SuggestedFix,
} from '../../src/protocol';
