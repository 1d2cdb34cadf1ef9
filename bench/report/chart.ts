/**
 * bench/chart.svg: panels of horizontal grouped bars drawn from the results, as plain SVG (no
 * plotting dependency). Each panel shows one scenario against its peers, with the target as a line.
 */
import type { BenchResults } from '../results.js';
import type { WriteAmplificationRow } from '../scenarios/write-amplification.js';
import { bytes } from './markdown.js';

interface Series {
  label: string;
  color: string;
}

interface Group {
  label: string;
  /** One value per series; undefined draws no bar. */
  values: ReadonlyArray<number | undefined>;
}

interface Panel {
  title: string;
  series: readonly Series[];
  groups: readonly Group[];
  format: (value: number) => string;
  log?: boolean;
  reference?: { value: number; label: string };
}

const WIDTH = 880;
const LABEL_WIDTH = 200;
const PLOT_WIDTH = 520;
const BAR_HEIGHT = 13;
const GROUP_GAP = 10;
const COLORS = { library: '#2563eb', libraryJs: '#60a5fa', sharded: '#0e7490', baseline: '#6b7280', naive: '#dc2626', perKey: '#f59e0b', pickle: '#16a34a', other: '#9333ea' };

const escape = (text: string) => text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');

function niceMax(value: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(value));
  return [1, 2, 2.5, 5, 10].map((step) => step * magnitude).find((candidate) => candidate >= value) ?? value;
}

/** Draws one panel at vertical offset `top`; returns its SVG and height. */
function drawPanel(panel: Panel, top: number): { svg: string; height: number } {
  const values = panel.groups.flatMap((group) => group.values.filter((value): value is number => value !== undefined && value > 0));
  const all = panel.reference ? [...values, panel.reference.value] : values;
  const parts: string[] = [];
  let y = top;
  parts.push(`<text x="10" y="${y + 16}" font-size="15" font-weight="bold">${escape(panel.title)}</text>`);
  y += 26;
  let legendX = LABEL_WIDTH;
  for (const series of panel.series) {
    const width = 24 + series.label.length * 6.2;
    if (legendX > LABEL_WIDTH && legendX + width > WIDTH - 10) {
      legendX = LABEL_WIDTH;
      y += 18;
    }
    parts.push(`<rect x="${legendX}" y="${y}" width="12" height="12" fill="${series.color}"/>`);
    parts.push(`<text x="${legendX + 16}" y="${y + 10}" font-size="11">${escape(series.label)}</text>`);
    legendX += width;
  }
  y += 34;
  const plotTop = y;
  let scale: (value: number) => number;
  let ticks: number[];
  if (panel.log) {
    const low = 10 ** Math.floor(Math.log10(Math.min(...all)));
    const high = 10 ** Math.ceil(Math.log10(Math.max(...all)));
    scale = (value) => ((Math.log10(value) - Math.log10(low)) / (Math.log10(high) - Math.log10(low))) * PLOT_WIDTH;
    ticks = [];
    for (let tick = low; tick <= high * 1.001; tick *= 10) ticks.push(tick);
  } else {
    const largest = Math.max(0, ...all);
    const high = niceMax(largest > 0 ? largest : 1);
    scale = (value) => (value / high) * PLOT_WIDTH;
    ticks = [0, 0.25, 0.5, 0.75, 1].map((share) => share * high);
  }
  for (const group of panel.groups) {
    const groupHeight = panel.series.length * (BAR_HEIGHT + 2);
    parts.push(`<text x="${LABEL_WIDTH - 8}" y="${y + groupHeight / 2 + 4}" font-size="12" text-anchor="end">${escape(group.label)}</text>`);
    group.values.forEach((value, i) => {
      const barY = y + i * (BAR_HEIGHT + 2);
      if (value === undefined) return;
      const width = Math.max(1, value > 0 ? scale(value) : 0);
      parts.push(`<rect x="${LABEL_WIDTH}" y="${barY}" width="${width.toFixed(1)}" height="${BAR_HEIGHT}" fill="${panel.series[i]!.color}"/>`);
      parts.push(`<text x="${(LABEL_WIDTH + width + 4).toFixed(1)}" y="${barY + 10}" font-size="10">${escape(panel.format(value))}</text>`);
    });
    y += groupHeight + GROUP_GAP;
  }
  const plotBottom = y - GROUP_GAP + 4;
  parts.push(`<line x1="${LABEL_WIDTH}" y1="${plotTop - 4}" x2="${LABEL_WIDTH}" y2="${plotBottom}" stroke="#111" stroke-width="1"/>`);
  for (const tick of ticks) {
    const x = LABEL_WIDTH + scale(tick);
    parts.push(`<line x1="${x.toFixed(1)}" y1="${plotBottom}" x2="${x.toFixed(1)}" y2="${plotBottom + 4}" stroke="#111"/>`);
    parts.push(`<text x="${x.toFixed(1)}" y="${plotBottom + 16}" font-size="10" text-anchor="middle">${escape(panel.format(tick))}</text>`);
  }
  if (panel.reference) {
    const x = LABEL_WIDTH + scale(panel.reference.value);
    parts.push(`<line x1="${x.toFixed(1)}" y1="${plotTop - 16}" x2="${x.toFixed(1)}" y2="${plotBottom}" stroke="#111" stroke-dasharray="4 3"/>`);
    parts.push(`<text x="${(x + 4).toFixed(1)}" y="${plotTop - 7}" font-size="10" font-style="italic">${escape(panel.reference.label)}</text>`);
  }
  return { svg: parts.join('\n'), height: plotBottom + 30 - top };
}

/** `s3-persistence (sharded, immediate)` -> `s3-persistence sharded, immediate`; other peers lose their explanation. */
const shortPeer = (name: string) =>
  name.startsWith('s3-persistence') ? name.replace(/^s3-persistence \((.*)\)$/, 's3 $1').replace('runtime, as the sample bot', 'runtime') : name.replace(/ \(.*\)$/, '');
const usersLabel = (n: number) => `${n >= 1e6 ? `${n / 1e6}M` : n >= 1000 ? `${n / 1000}k` : n} users`;
const msLabel = (value: number) => (value >= 100 ? `${value.toFixed(0)} ms` : value >= 10 ? `${value.toFixed(1)} ms` : `${value.toFixed(2)} ms`);

function panels(results: BenchResults): Panel[] {
  const { coldStart, codec, writeAmplification, picklePersistence, contention, burst, scale } = results.scenarios;
  const pickle = picklePersistence && 'rows' in picklePersistence ? picklePersistence.rows : [];
  const out: Panel[] = [];
  if (coldStart) {
    out.push({
      title: 'Cold start: load in a fresh process (log scale; shorter is better)',
      series: [
        { label: 'raw GET + JSON.parse (baseline)', color: COLORS.baseline },
        { label: "s3-persistence, the runtime's first update (Lambda bundle, pure JS)", color: COLORS.library },
        { label: 's3-persistence, every get* (Lambda bundle, pure JS)', color: COLORS.libraryJs },
        { label: 's3-persistence sharded (one update)', color: COLORS.sharded },
        { label: 'PicklePersistence, local disk (every get_*)', color: COLORS.pickle },
      ],
      groups: coldStart.rows.map((row) => ({
        label: usersLabel(row.users),
        values: [
          row.json.totalMs.median,
          row.runtimeLambda.totalMs.median,
          row.libraryLambda.totalMs.median,
          row.sharded.totalMs.median,
          pickle.find((p) => p.users === row.users && p.layout === 'single-file')?.loadMs.median,
        ],
      })),
      format: msLabel,
      log: true,
    });
  }
  if (codec) {
    const json = codec.lambda.rows.find((row) => row.codec.startsWith('JSON.stringify'))!;
    const shown = codec.lambda.rows.filter((row) => !row.codec.startsWith('JSON from bytes'));
    out.push({
      title: `Codec: decode the ${codec.lambda.users / 1000}k-user snapshot (shorter is better)`,
      series: [
        { label: 'cbor-extract', color: COLORS.library },
        { label: 'pure JS (Lambda bundle)', color: COLORS.libraryJs },
      ],
      groups: shown.map((row) => ({
        label: row.short,
        values: [codec.native.rows.find((r) => r.codec === row.codec)!.decodeMs.median, row.decodeMs.median],
      })),
      format: msLabel,
      reference: { value: json.decodeMs.median / 2, label: 'target (pure JS): half of JSON.parse' },
    });
    out.push({
      title: 'Codec: size of the same snapshot, relative to JSON',
      series: [{ label: 'bytes / JSON bytes', color: COLORS.other }],
      groups: shown.map((row) => ({ label: row.short, values: [row.bytes / json.bytes] })),
      format: (value) => `${value.toFixed(2)}x`,
      reference: { value: 0.8, label: 'target: 0.8x' },
    });
  }
  if (writeAmplification) {
    const { rows } = writeAmplification;
    const sizes = [...new Set(rows.map((row) => row.users))];
    const byPeer = (users: number, predicate: (row: WriteAmplificationRow) => boolean) =>
      rows.find((row) => row.users === users && predicate(row))?.bytesPerUpdate;
    out.push({
      title: 'Write amplification: bytes written per update (log scale)',
      series: [
        { label: 's3-persistence single-file', color: COLORS.library },
        { label: 's3-persistence multi-file', color: COLORS.libraryJs },
        { label: 's3-persistence sharded', color: COLORS.sharded },
        { label: 'naive JSON', color: COLORS.naive },
        { label: 'per-key JSON', color: COLORS.perKey },
        { label: 'PicklePersistence', color: COLORS.pickle },
      ],
      groups: sizes.map((users) => ({
        label: usersLabel(users),
        values: [
          byPeer(users, (row) => row.layout === 'single-file'),
          byPeer(users, (row) => row.layout === 'multi-file'),
          byPeer(users, (row) => row.layout === 'sharded'),
          byPeer(users, (row) => row.kind === 'naive'),
          byPeer(users, (row) => row.kind === 'per-key'),
          pickle.find((p) => p.users === users && p.layout === 'single-file')?.bytesPerWrite,
        ],
      })),
      format: bytes,
      log: true,
    });
  }
  if (contention) {
    out.push({
      title: `Contention: updates lost of ${contention.peers[0]?.updates ?? 0} (${contention.instances} instances at once)`,
      series: [{ label: 'lost updates', color: COLORS.naive }],
      groups: contention.peers.map((peer) => ({ label: shortPeer(peer.peer), values: [peer.lostUpdates] })),
      format: (value) => value.toFixed(0),
      reference: { value: 0, label: 'target: 0' },
    });
  }
  if (burst) {
    out.push({
      title: `Burst: PUTs per update, ${burst.concurrent} updates at once (group commit)`,
      series: [{ label: 'PUTs / update', color: COLORS.library }],
      groups: burst.peers.map((peer) => ({ label: shortPeer(peer.peer), values: [peer.putsPerUpdate] })),
      format: (value) => value.toFixed(2),
      reference: { value: 0.2, label: 'target: 0.2' },
    });
  }
  if (scale) {
    const projected = scale.projections[0]?.users ?? 1_000_000;
    const groups = (metric: 'coldMs' | 'bytesWrittenPerUpdate') => [
      ...scale.sizes.map((users) => ({
        label: usersLabel(users),
        values: (['single-file', 'sharded'] as const).map((layout) => {
          const row = scale.rows.find((r) => r.users === users && r.layout === layout);
          return row === undefined ? undefined : metric === 'coldMs' ? row.coldMs.median : row.bytesWrittenPerUpdate;
        }),
      })),
      {
        label: `${usersLabel(projected)} (projected)`,
        values: (['single-file', 'sharded'] as const).map((layout) => scale.projections.find((p) => p.layout === layout && p.metric === metric)?.projected),
      },
    ];
    const series = [
      { label: 's3-persistence single-file', color: COLORS.library },
      { label: 's3-persistence sharded', color: COLORS.sharded },
    ];
    out.push({
      title: "Scale: cold start of the sample bot's first update, whole population stored (log scale)",
      series,
      groups: groups('coldMs'),
      format: msLabel,
      log: true,
    });
    out.push({
      title: 'Scale: bytes written per update, whole population stored (log scale)',
      series,
      groups: groups('bytesWrittenPerUpdate'),
      format: (value) => bytes(Math.round(value)),
      log: true,
    });
  }
  return out;
}

export function renderChart(results: BenchResults): string {
  let top = 10;
  const parts: string[] = [];
  for (const panel of panels(results)) {
    const drawn = drawPanel(panel, top);
    parts.push(drawn.svg);
    top += drawn.height + 10;
  }
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${top}" viewBox="0 0 ${WIDTH} ${top}" font-family="Helvetica, Arial, sans-serif">`,
    `<rect width="${WIDTH}" height="${top}" fill="#fff"/>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}
