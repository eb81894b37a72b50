//! The examples' tests: each example's `run()` on small generated files in its data's real layout, and on the
//! real datasets where they are installed. One test executable for all examples (`docs/ARCHITECTURE.md`,
//! "Testing"); the example crates themselves build no test target.

mod breast_cancer;
mod cifar10_lenet;
mod cifar10_resnet;
mod ctr_recommender;
mod custom_model;
mod custom_optimizer;
mod fashion_lenet;
mod heart_disease;
mod mnist_mlp;
mod news_text;
mod transfer_digits;
