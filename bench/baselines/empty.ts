// Baseline: an empty bundle (the build's own overhead).
export {};
