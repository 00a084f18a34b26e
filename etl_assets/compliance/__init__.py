"""Personal data: which columns hold it, how they are masked, kept and erased (docs/architecture.md §8)."""
