"""Text in: files read as blocks, bytes decoded, text normalised and cut into tokens (no Beam)."""
