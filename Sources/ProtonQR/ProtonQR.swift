// The ProtonQR module; see docs/ and DESIGN.md for what belongs here.
