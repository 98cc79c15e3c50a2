"""Reference implementations of graded functions, for the instructor's edition only.

The capstone chapter trains the book's own NumPy RNN, and the functions that do it (the forward pass, BPTT,
clipping, temperature sampling, the truncated-BPTT step) are what Exercises 1, 2 and 6 ask students to write.
They live here, apart from the rest of `rnncourse`, so that the student edition can leave this package out:
`make student-edition` does, and a test proves that none of it reaches students.
"""
