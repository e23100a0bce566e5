"""Small, single-purpose crypto helpers: passwords, signing, random tokens."""
