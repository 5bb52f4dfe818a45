"""Reports the district sends upward (带贫 poverty-benefit figures)."""
