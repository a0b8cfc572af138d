/**
 * Mode coverage under the PacGAN protocol (Lin et al. 2018): a sample is high quality when it lies
 * within 3 standard deviations of its nearest mode; a mode is covered when at least one
 * high-quality sample is nearest to it.
 */
export interface ModeQuality {
  modesCovered: number;
  modeCount: number;
  /** Fraction of samples that are high quality, in [0, 1]. */
  highQuality: number;
  /** KL(generated mode histogram ‖ uniform) over the high-quality samples; 0 when perfectly balanced. */
  reverseKl: number;
  /** High-quality samples nearest to each mode, by mode (the mode histogram); absent where only the summary is known. */
  modeCounts?: number[];
}

export function modeQuality(points: ArrayLike<number>, modes: number[][], std: number): ModeQuality {
  const counts = new Array<number>(modes.length).fill(0);
  const n = points.length / 2;
  let good = 0;
  for (let i = 0; i < n; i++) {
    const x = points[2 * i];
    const y = points[2 * i + 1];
    let best = 0;
    let bestDistance = Infinity;
    modes.forEach(([mx, my], j) => {
      const distance = Math.hypot(x - mx, y - my);
      if (distance < bestDistance) {
        bestDistance = distance;
        best = j;
      }
    });
    if (bestDistance <= 3 * std) {
      counts[best]++;
      good++;
    }
  }
  let reverseKl = 0;
  for (const count of counts) {
    if (count === 0 || good === 0) continue;
    const p = count / good;
    reverseKl += p * Math.log(p * modes.length);
  }
  return { modesCovered: counts.filter((c) => c > 0).length, modeCount: modes.length, highQuality: n === 0 ? 0 : good / n, reverseKl, modeCounts: counts };
}
