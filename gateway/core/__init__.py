"""The bottom layer: types and helpers every other package may import; it imports none of them."""
