/** TensorBoard's smoothing: an exponential moving average of the points, debiased at the start. */
export function smooth(values: readonly (number | null)[], weight: number): (number | null)[] {
  let last = 0;
  let count = 0;
  return values.map((v) => {
    // A missing or non-finite point stays a gap and does not reset the average.
    if (v === null || !Number.isFinite(v)) return null;
    last = last * weight + (1 - weight) * v;
    count++;
    return weight > 0 ? last / (1 - weight ** count) : v;
  });
}
