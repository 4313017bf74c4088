"""Kiosk screens: each composes widgets, reacts to messages and calls one service method."""
