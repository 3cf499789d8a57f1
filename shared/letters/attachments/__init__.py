"""Requirement documents (syarat): what a letter type asks for, uploads checked and cleaned, and approval."""
