"""Pure analysis: export parsing, classification, reconciliation situations, billing maths."""
