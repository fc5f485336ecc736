"""Beyond chat: a cited privacy label per policy version, a comparison table, a version diff."""
