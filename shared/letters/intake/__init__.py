"""Checking what a hamlet post sends: request shapes, letter types, the NIK, the types' rules."""
