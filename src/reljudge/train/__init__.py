"""Training: one module per judge family. Import the module you need; this package imports nothing heavy."""
