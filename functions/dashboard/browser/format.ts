// How figures read on the page: milliseconds, loss and ages, and the colour of a loss.

export function lossColor(loss: number | null | undefined): string {
  if (loss === null || loss === undefined) return '#8c959f';
  if (loss === 0) return '#1a7f37';
  if (loss < 0.05) return '#9a6700';
  if (loss < 0.2) return '#bc4c00';
  return '#cf222e';
}

export function fmtMs(v: number | null | undefined): string {
  if (v === null || v === undefined) return '–';
  return `${v < 10 ? v.toFixed(2) : v.toFixed(1)} ms`;
}

export function fmtLoss(v: number | null | undefined): string {
  if (v === null || v === undefined) return '–';
  return `${(v * 100).toFixed(v > 0 && v < 0.1 ? 1 : 0)}%`;
}

export function fmtAge(s: number | null | undefined): string {
  if (s === null || s === undefined) return '–';
  return s < 120 ? `${Math.round(s)} s` : `${Math.round(s / 60)} min`;
}
