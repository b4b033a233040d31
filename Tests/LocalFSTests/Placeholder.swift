// Placeholder so the package loads; delete when this target has real tests.
