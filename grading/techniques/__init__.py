"""The reference implementation of each technique of the day, for ``day26 optimize``, the demo and
the reference figures. Learners write these themselves in the notebooks (with the same libraries);
the learner package ``helpers`` only measures and checks what they made."""
