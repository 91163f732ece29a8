"""Ratio benchmarks of generated gradients against hand-written ones: see run.py."""
