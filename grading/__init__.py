"""The instructor's package of the Day 26 workbook, built on the learner package ``helpers``.

Release and learner bundle, intake, sandboxed execution, the artifact verifier, scoring, feedback,
grades, leaderboard, cohort grading on Dask, and the instructor's ``day26`` commands
(:mod:`grading.cli`). ``helpers`` never imports anything from here.
"""
