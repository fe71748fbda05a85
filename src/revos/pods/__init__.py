"""Engagement pods: members' accounts like and comment on each other's posts, like people (docs/pods.md)."""
