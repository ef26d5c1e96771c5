"""Seasonal volume factors by calendar month (northern / southern hemisphere holidays)."""

SEASON_NORTH = {1: 1.0, 2: 1.05, 3: 1.1, 4: 0.92, 5: 1.05, 6: 1.0, 7: 0.9, 8: 0.7, 9: 1.05, 10: 1.1, 11: 1.05, 12: 0.65}
SEASON_SOUTH = {1: 0.7, 2: 1.0, 3: 1.1, 4: 0.95, 5: 1.05, 6: 1.0, 7: 0.9, 8: 1.05, 9: 1.05, 10: 1.1, 11: 1.05, 12: 0.8}
