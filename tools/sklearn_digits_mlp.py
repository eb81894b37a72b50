"""scikit-learn baseline for OWM's default job: the same recipe on random 80/20 splits of the same digits.

MLP 64 -> 128 -> 10 (ReLU), Adam lr 1e-3, batch 32, 40 epochs, features standardised on the training split.
Run: python3 tools/sklearn_digits_mlp.py   (needs numpy and scikit-learn); compare with `owm train --seed N`.
"""
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

warnings.filterwarnings("ignore", category=ConvergenceWarning)
X, y = load_digits(return_X_y=True)
accuracies = []
for seed in range(5):
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, random_state=seed)
    scaler = StandardScaler().fit(Xtr)
    model = MLPClassifier(hidden_layer_sizes=(128,), max_iter=40, batch_size=32, learning_rate_init=1e-3, random_state=seed)
    model.fit(scaler.transform(Xtr), ytr)
    accuracies.append(model.score(scaler.transform(Xte), yte))
print("accuracy per seed", np.round(accuracies, 4), "mean", round(float(np.mean(accuracies)), 4))
