"""Keys, PAdES signatures, and what anyone holding a letter may verify."""
