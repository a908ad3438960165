/** One point of the in-flight sweep. */
export interface SweepPoint {
  readonly inflight: number;
  readonly floor: { tps: number; p99: number };
  readonly twopc: { tps: number; p99: number };
  readonly batched: { tps: number; p99: number };
}

type Who = 'floor' | 'twopc' | 'batched';
const LINES: [Who, string][] = [
  ['floor', '#999'],
  ['twopc', '#c33'],
  ['batched', '#36c'],
];

/** Two small line charts (throughput, p99) against in-flight, as one SVG. */
export function sweepSvg(points: SweepPoint[], title: string): string {
  const W = 420;
  const H = 260;
  const pad = 50;
  const panel = (x0: number, label: string, pick: (p: SweepPoint, who: Who) => number): string => {
    const max = Math.max(1, ...points.flatMap((p) => LINES.map(([who]) => pick(p, who))));
    const xs = points.map(
      (_, i) => x0 + pad + (i * (W - 2 * pad)) / Math.max(1, points.length - 1),
    );
    const y = (v: number): number => H - pad - (v / max) * (H - 2 * pad);
    const line = (who: Who, color: string): string =>
      `<polyline fill="none" stroke="${color}" stroke-width="2" points="${points.map((p, i) => `${xs[i]?.toFixed(1)},${y(pick(p, who)).toFixed(1)}`).join(' ')}"/>`;
    const ticks = points
      .map(
        (p, i) =>
          `<text x="${xs[i]?.toFixed(1)}" y="${H - pad + 16}" font-size="10" text-anchor="middle">${p.inflight}</text>`,
      )
      .join('');
    return `<g><text x="${x0 + W / 2}" y="20" font-size="13" text-anchor="middle">${label}</text>
<line x1="${x0 + pad}" y1="${H - pad}" x2="${x0 + W - pad}" y2="${H - pad}" stroke="#888"/>
<line x1="${x0 + pad}" y1="${pad}" x2="${x0 + pad}" y2="${H - pad}" stroke="#888"/>
<text x="${x0 + pad - 4}" y="${pad + 4}" font-size="10" text-anchor="end">${max.toFixed(0)}</text>
<text x="${x0 + pad - 4}" y="${H - pad}" font-size="10" text-anchor="end">0</text>
<text x="${x0 + W / 2}" y="${H - 12}" font-size="10" text-anchor="middle">transactions in flight</text>
${ticks}${LINES.map(([who, color]) => line(who, color)).join('')}</g>`;
  };
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${2 * W}" height="${H + 30}" font-family="sans-serif">
<text x="10" y="${H + 22}" font-size="11">${title} — grey: floor, red: twopc (unary participants), blue: twopc (batched participants)</text>
${panel(0, 'committed transactions/s', (p, who) => p[who].tps)}
${panel(W, 'p99 latency (ms)', (p, who) => p[who].p99)}
</svg>
`;
}
