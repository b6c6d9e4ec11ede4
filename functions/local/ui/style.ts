/** The one stylesheet (CSP: styles from this origin only, none inline). Reads on a laptop and a phone. */
export const STYLESHEET = `
:root { color-scheme: light dark; --muted: #6b7280; --line: #d1d5db; --bad: #b91c1c; --ok: #15803d; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, sans-serif; }
header { display: flex; justify-content: space-between; align-items: center; padding: .6rem 1rem; border-bottom: 1px solid var(--line); }
.brand { font-weight: 700; text-decoration: none; color: inherit; }
main { padding: 1rem; max-width: 1200px; margin: 0 auto; }
h1 { font-size: 1.3rem; word-break: break-all; } h2 { font-size: 1.1rem; margin-top: 1.6rem; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
td.ref { word-break: break-all; min-width: 12rem; }
code { font-size: .9em; }
details.digest summary { cursor: pointer; list-style: none; }
details.digest input { width: 100%; min-width: 16rem; max-width: 100%; font: .8rem monospace; }
li, td, p, span { overflow-wrap: anywhere; }
.none, .muted, time { color: var(--muted); }
.t { display: inline-block; padding: 0 .4rem; border-radius: .3rem; border: 1px solid var(--line); font-size: .85em; }
.t-overwrite, .t-overwritten, .t-attempt, .failed { color: var(--bad); border-color: var(--bad); }
.t-restored, .t-drift-cleared, .done { color: var(--ok); border-color: var(--ok); }
.t-drift-opened, .t-split, .t-stale { color: var(--bad); border-color: var(--bad); }
form.filters { display: flex; flex-wrap: wrap; gap: .5rem; align-items: end; }
form.filters label { display: flex; flex-direction: column; font-size: .85em; }
form.inline { display: inline; }
li.effect > * { margin-right: .4rem; } form.filters { margin-bottom: .8rem; }
input, select, button { font: inherit; padding: .25rem .4rem; }
ol.timeline { list-style: none; padding: 0; }
ol.timeline > li { border: 1px solid var(--line); border-radius: .4rem; padding: .6rem .8rem; margin-bottom: .6rem; }
.row { display: flex; flex-wrap: wrap; gap: .4rem 1rem; align-items: baseline; }
ul.effects { margin: .4rem 0 0; padding-left: 1.2rem; }
.error { color: var(--bad); }
.pager { margin-top: 1rem; }
@media (max-width: 600px) { main { padding: .6rem; } th, td { padding: .3rem; } .wide { display: none; } }
`;
