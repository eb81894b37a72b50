//! Parameter paths: walk any Burn module and name its float parameters by module path.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::optim::GradientsParams;
use burn::prelude::*;

use crate::{Error, Result};

/// Whether `path` matches `pattern`, where `*` matches any (possibly empty) run of characters.
pub fn glob_match(pattern: &str, path: &str) -> bool {
    let (p, s) = (pattern.as_bytes(), path.as_bytes());
    let (mut pi, mut si) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while si < s.len() {
        if pi < p.len() && p[pi] != b'*' && p[pi] == s[si] {
            pi += 1;
            si += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some(pi);
            mark = si;
            pi += 1;
        } else if let Some(st) = star {
            pi = st + 1;
            mark += 1;
            si = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// Names of the running statistics Burn's batch norm keeps (`RunningState`s, which Burn walks like float
/// parameters): the last segment of a buffer's path.
pub const BUFFER_NAMES: [&str; 2] = ["running_mean", "running_var"];

/// `t`'s values, read back from its device: [`Error::Device`] instead of Burn's panic when the device fails (a
/// remote device whose server stopped, say). Every read of a training step goes through it.
///
/// # Errors
///
/// [`Error::Device`] with the backend's reason.
pub fn device_data<const D: usize, K: burn::tensor::kind::Basic>(t: Tensor<D, K>) -> Result<TensorData> {
    t.try_into_data().map_err(|e| Error::Device(e.to_string()))
}

/// The first value of `t` (a loss, a norm, a count) as an `f64`, NaN when it holds none, read back with
/// [`device_data`].
///
/// # Errors
///
/// [`Error::Device`] with the backend's reason.
pub fn device_scalar<const D: usize, K: burn::tensor::kind::Basic>(t: Tensor<D, K>) -> Result<f64> {
    Ok(device_data(t)?.convert::<f64>().try_into_vec::<f64>().ok().and_then(|v| v.first().copied()).unwrap_or(f64::NAN))
}

/// The values of `data` as `f32`, read back on the host (converted first, so reading them cannot fail).
#[allow(clippy::expect_used, reason = "the data was converted to f32 just before it is read as f32")]
pub fn host_f32(data: TensorData) -> Vec<f32> {
    data.convert::<f32>().try_into_vec::<f32>().expect("data converted to f32 reads as f32")
}

/// Whether `path` names a buffer — state a forward pass updates (batch-norm running statistics), not a weight
/// an optimiser trains. Buffers are left out of [`param_infos`], [`ParamSet`], gradients, init plans and
/// traces, and kept in bundles and checkpoints ([`state_data`], [`replace_state`]).
pub fn is_buffer(path: &str) -> bool {
    BUFFER_NAMES.contains(&path.rsplit('.').next().unwrap_or(path))
}

/// Where pretrained values come from: tensors by module path (a bundle, a PyTorch file, a registry entry).
/// `owm-init`'s `Pretrained` strategy reads through it, so init plans never depend on where the tensors live.
pub trait TensorSource {
    /// How the source is named in init plans and records (a bundle's folder, say).
    fn name(&self) -> &str;
    /// A digest identifying its content (a bundle's `bundle_digest`), recorded with each tensor taken.
    fn digest(&self) -> &str;
    /// The paths of every tensor it holds.
    fn paths(&self) -> Vec<String>;
    /// The shape and row-major values of the tensor at `path`, if the source has it.
    fn tensor(&self, path: &str) -> Option<(Vec<usize>, Vec<f32>)>;
}

/// A float parameter of a module, named by path.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamInfo {
    /// Dotted module path, e.g. `"layers.0.weight"`.
    pub path: String,
    /// Burn's id for this parameter in this process (random per run: never persist it).
    pub id: ParamId,
    /// The parameter's shape.
    pub shape: Vec<usize>,
    /// The Burn module type that owns it (`"Linear"`, `"Conv2d"`, `"Embedding"`, `"BatchNorm"`, or the model's
    /// own type for a parameter it declares itself): what decides its layout in other frameworks.
    pub owner: String,
}

/// The module-path stack kept while Burn walks a module.
///
/// Burn calls `enter_module(field, container)` for every field, `Vec` index and enum variant.
/// Variant names are skipped so that wrapping a model in an enum does not change its parameter paths.
#[derive(Default)]
struct PathStack {
    parts: Vec<String>,
    pushed: Vec<bool>,
    containers: Vec<String>,
}

impl PathStack {
    fn enter(&mut self, name: &str, container: &str) {
        self.containers.push(container.to_owned());
        let push = !container.starts_with("Enum:");
        if push {
            self.parts.push(name.to_owned());
        }
        self.pushed.push(push);
    }

    /// The module type whose field was entered last (`"Struct:Linear"` → `"Linear"`).
    fn owner(&self) -> String {
        let c = self.containers.last().map_or("", String::as_str);
        c.split_once(':').map_or(c, |(_, t)| t).to_string()
    }

    fn exit(&mut self) {
        self.containers.pop();
        if self.pushed.pop() == Some(true) {
            self.parts.pop();
        }
    }

    fn path(&self) -> String {
        self.parts.join(".")
    }
}

/// Something that looks at each float parameter together with its path.
trait ParamVisit {
    fn visit<const D: usize>(&mut self, path: String, param: &Param<Tensor<D>>);
    /// Told the owner type of the parameter visited next.
    fn owner(&mut self, _owner: String) {}
}

/// Adapts a [`ParamVisit`] to Burn's `ModuleVisitor`, keeping the path; buffers are visited only when the
/// third field is set.
struct Walk<V>(PathStack, V, bool);

impl<V: ParamVisit> ModuleVisitor for Walk<V> {
    fn enter_module(&mut self, name: &str, container: &str) {
        self.0.enter(name, container);
    }
    fn exit_module(&mut self, _: &str, _: &str) {
        self.0.exit();
    }
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let path = self.0.path();
        if self.2 || !is_buffer(&path) {
            self.1.owner(self.0.owner());
            self.1.visit(path, param);
        }
    }
}

fn walk<M: Module, V: ParamVisit>(module: &M, visit: V) -> V {
    let mut walk = Walk(PathStack::default(), visit, false);
    module.visit(&mut walk);
    walk.1
}

/// Every float tensor of `module` — parameters and buffers — read back to the host, by path, in visiting
/// order: what a bundle stores.
pub fn state_data<M: Module>(module: &M) -> Vec<(String, TensorData)> {
    struct V(Vec<(String, TensorData)>);
    impl ParamVisit for V {
        fn visit<const D: usize>(&mut self, path: String, param: &Param<Tensor<D>>) {
            self.0.push((path, param.val().detach().into_data()));
        }
    }
    let mut walk = Walk(PathStack::default(), V(Vec::new()), true);
    module.visit(&mut walk);
    walk.1.0
}

/// Lists the float parameters of `module` in visiting order, without initialising lazy parameters.
pub fn param_infos<M: Module>(module: &M) -> Vec<ParamInfo> {
    struct V(Vec<ParamInfo>, String);
    impl ParamVisit for V {
        fn owner(&mut self, owner: String) {
            self.1 = owner;
        }
        fn visit<const D: usize>(&mut self, path: String, param: &Param<Tensor<D>>) {
            self.0.push(ParamInfo { path, id: param.id, shape: param.lazy_shape().to_vec(), owner: std::mem::take(&mut self.1) });
        }
    }
    walk(module, V(Vec::new(), String::new())).0
}

/// The parameters of `module`, detached from any autodiff graph and flattened to rank 1, by path.
///
/// The tensors stay on the module's device; nothing is read back.
pub fn flat_params<M: Module>(module: &M) -> Vec<(String, Tensor<1>)> {
    struct V(Vec<(String, Tensor<1>)>);
    impl ParamVisit for V {
        fn visit<const D: usize>(&mut self, path: String, param: &Param<Tensor<D>>) {
            self.0.push((path, param.val().detach().reshape([-1])));
        }
    }
    walk(module, V(Vec::new())).0
}

/// The gradient of each parameter of `module`, flattened to rank 1, by path (`None` for a parameter that got
/// no gradient, such as a frozen one).
pub fn flat_grads<M: Module>(module: &M, grads: &GradientsParams) -> Vec<(String, Option<Tensor<1>>)> {
    struct V<'a>(&'a GradientsParams, Vec<(String, Option<Tensor<1>>)>);
    impl ParamVisit for V<'_> {
        fn visit<const D: usize>(&mut self, path: String, param: &Param<Tensor<D>>) {
            self.1.push((path, self.0.get::<D>(param.id).map(|g| g.reshape([-1]))));
        }
    }
    walk(module, V(grads, Vec::new())).1
}

/// Reads every parameter of `module` back to the host, by path, in visiting order.
pub fn param_data<M: Module>(module: &M) -> Vec<(String, TensorData)> {
    flat_params(module)
        .into_iter()
        .zip(param_infos(module))
        .map(|((path, t), info)| {
            let data = t.into_data();
            let (bytes, _, dtype) = data.into_parts();
            (path, TensorData::from_bytes(bytes, info.shape, dtype))
        })
        .collect()
}

/// Rebuilds `module`, replacing parameters with the values `values(path, shape)` returns.
///
/// `values` returns `Ok(None)` to keep a parameter as it is.
/// A replacement keeps the parameter's id, device and whether it requires a gradient.
///
/// # Errors
///
/// The first error `values` returns, or [`Error::Param`] when returned data has the wrong shape.
pub fn replace_params<M, F>(module: M, values: F) -> Result<M>
where
    M: Module,
    F: FnMut(&str, &[usize]) -> Result<Option<TensorData>>,
{
    replace(module, values, false)
}

/// [`replace_params`] over parameters and buffers (batch-norm running statistics): how a bundle is loaded.
///
/// # Errors
///
/// As [`replace_params`].
pub fn replace_state<M, F>(module: M, values: F) -> Result<M>
where
    M: Module,
    F: FnMut(&str, &[usize]) -> Result<Option<TensorData>>,
{
    replace(module, values, true)
}

fn replace<M, F>(module: M, values: F, buffers: bool) -> Result<M>
where
    M: Module,
    F: FnMut(&str, &[usize]) -> Result<Option<TensorData>>,
{
    struct Mp<F> {
        stack: PathStack,
        values: F,
        error: Option<Error>,
        buffers: bool,
    }
    impl<F: FnMut(&str, &[usize]) -> Result<Option<TensorData>>> ModuleMapper for Mp<F> {
        fn enter_module(&mut self, name: &str, container: &str) {
            self.stack.enter(name, container);
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.stack.exit();
        }
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            let path = self.stack.path();
            if self.error.is_some() || (!self.buffers && is_buffer(&path)) {
                return param;
            }
            let shape = param.lazy_shape().to_vec();
            let data = match (self.values)(&path, &shape) {
                Ok(Some(data)) => data,
                Ok(None) => return param,
                Err(e) => {
                    self.error = Some(e);
                    return param;
                }
            };
            if data.shape().as_slice() != shape.as_slice() {
                self.error = Some(Error::Param { path, reason: format!("shape mismatch: module has {shape:?}, data has {:?}", data.shape().as_slice()) });
                return param;
            }
            let device = param.lazy_device();
            let value = Tensor::<D>::from_data(data, &device);
            param.map(|old| value.set_require_grad(old.is_require_grad()))
        }
    }
    let mut mapper = Mp { stack: PathStack::default(), values, error: None, buffers };
    let module = module.map(&mut mapper);
    match mapper.error {
        Some(e) => Err(e),
        None => Ok(module),
    }
}

/// A module's float parameters as a flat, path-addressed view: one rank-1 tensor per parameter, in module
/// order, outside any autodiff graph and on the module's device.
///
/// Optimisers read and write weights through this view without knowing the model: gradient methods work
/// tensor by tensor ([`ParamSet::tensors`]), search methods on one host vector ([`ParamSet::to_host`] and
/// [`ParamSet::with_host`]). [`ParamSet::apply_to`] writes the values back into a module by path.
#[derive(Debug, Clone)]
pub struct ParamSet {
    metas: Vec<crate::ParamMeta>,
    values: Vec<Tensor<1>>,
}

impl ParamSet {
    /// The parameters of `module`, by path (lazy parameters are initialised).
    pub fn of<M: Module>(module: &M) -> Self {
        let infos = param_infos(module);
        let values = flat_params(module).into_iter().map(|(_, t)| t.inner()).collect();
        let metas = infos.into_iter().map(|i| crate::ParamMeta { path: i.path, shape: i.shape }).collect();
        Self { metas, values }
    }

    /// A set from paths, shapes and rank-1 values.
    ///
    /// # Errors
    ///
    /// [`Error::Param`] when a value's length does not match its shape, or the lists differ in length.
    pub fn new(metas: Vec<crate::ParamMeta>, values: Vec<Tensor<1>>) -> Result<Self> {
        if metas.len() != values.len() {
            return Err(Error::Param { path: "*".into(), reason: format!("{} paths for {} values", metas.len(), values.len()) });
        }
        for (m, v) in metas.iter().zip(&values) {
            let want: usize = m.shape.iter().product();
            if v.dims()[0] != want {
                return Err(Error::Param { path: m.path.clone(), reason: format!("{} values for shape {:?}", v.dims()[0], m.shape) });
            }
        }
        Ok(Self { metas, values })
    }

    /// Paths and shapes, in module order.
    pub fn metas(&self) -> &[crate::ParamMeta] {
        &self.metas
    }

    /// The values, one rank-1 tensor per path.
    pub fn tensors(&self) -> &[Tensor<1>] {
        &self.values
    }

    /// The values, consumed.
    pub fn into_tensors(self) -> Vec<Tensor<1>> {
        self.values
    }

    /// The same paths with new values.
    ///
    /// # Errors
    ///
    /// [`Error::Param`] when the values do not fit the shapes.
    pub fn with_tensors(&self, values: Vec<Tensor<1>>) -> Result<Self> {
        Self::new(self.metas.clone(), values)
    }

    /// Number of parameters (tensors).
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether there is no parameter.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Number of scalar weights over all parameters.
    pub fn numel(&self) -> usize {
        self.metas.iter().map(|m| m.shape.iter().product::<usize>()).sum()
    }

    /// The device the values live on (`None` for an empty set).
    pub fn device(&self) -> Option<Device> {
        self.values.first().map(Tensor::device)
    }

    /// All weights as one rank-1 tensor on the device, in module order.
    pub fn to_vector(&self) -> Option<Tensor<1>> {
        (!self.values.is_empty()).then(|| Tensor::cat(self.values.clone(), 0))
    }

    /// The same paths with values sliced from one rank-1 tensor laid out as [`ParamSet::to_vector`].
    ///
    /// # Errors
    ///
    /// [`Error::Param`] when the vector's length is not [`ParamSet::numel`].
    pub fn with_vector(&self, vector: Tensor<1>) -> Result<Self> {
        if vector.dims()[0] != self.numel() {
            return Err(Error::Param { path: "*".into(), reason: format!("vector of {} weights for {} parameters", vector.dims()[0], self.numel()) });
        }
        let mut start = 0;
        let values = self
            .metas
            .iter()
            .map(|m| {
                let n: usize = m.shape.iter().product();
                start += n;
                vector.clone().slice(start - n..start)
            })
            .collect();
        Ok(Self { metas: self.metas.clone(), values })
    }

    /// All weights read back to the host as one vector (one transfer), in module order.
    pub fn to_host(&self) -> Vec<f32> {
        self.to_vector().map_or_else(Vec::new, |v| host_f32(v.into_data()))
    }

    /// The same paths with values from a host vector laid out as [`ParamSet::to_host`], on `device`.
    ///
    /// # Errors
    ///
    /// [`Error::Param`] when the vector's length is not [`ParamSet::numel`].
    pub fn with_host(&self, values: &[f32], device: &Device) -> Result<Self> {
        let vector = Tensor::<1>::from_data(TensorData::new(values.to_vec(), [values.len()]), device);
        self.with_vector(vector)
    }

    /// Writes the values into `module` by path, keeping each parameter's id, device and gradient requirement.
    ///
    /// # Errors
    ///
    /// [`Error::Param`] when the module has a parameter this set lacks, or one of another size.
    pub fn apply_to<M: Module>(&self, module: M) -> Result<M> {
        self.apply_rows_to(module, &[])
    }

    /// [`ParamSet::apply_to`], but the parameters `i` given `rows[i]` go in as those rows alone (along their
    /// first dimension, in that order): the compact table a batch's renumbered ids index. The module's
    /// parameter may hold any number of rows; its other dimensions must match.
    ///
    /// # Errors
    ///
    /// As [`ParamSet::apply_to`].
    pub fn apply_rows_to<M: Module>(&self, module: M, rows: &[Option<Tensor<1, Int>>]) -> Result<M> {
        struct Mp<'a> {
            stack: PathStack,
            set: &'a ParamSet,
            rows: &'a [Option<Tensor<1, Int>>],
            next: usize,
            error: Option<Error>,
        }
        impl ModuleMapper for Mp<'_> {
            fn enter_module(&mut self, name: &str, container: &str) {
                self.stack.enter(name, container);
            }
            fn exit_module(&mut self, _: &str, _: &str) {
                self.stack.exit();
            }
            fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
                let path = self.stack.path();
                if self.error.is_some() || is_buffer(&path) {
                    return param;
                }
                // Parameters come in module order; look further only when the order differs.
                let index = match self.set.metas.get(self.next) {
                    Some(m) if m.path == path => Some(self.next),
                    _ => self.set.metas.iter().position(|m| m.path == path),
                };
                let Some(index) = index else {
                    self.error = Some(Error::Param { path, reason: "missing from the parameter set".into() });
                    return param;
                };
                self.next = index + 1;
                let shape = param.lazy_shape();
                let want = self.set.metas[index].shape.as_slice();
                let rows = self.rows.get(index).and_then(Option::as_ref).filter(|_| !want.is_empty());
                // A table given by rows may hold any number of them.
                let skip = usize::from(rows.is_some());
                if shape.num_dims() != want.len() || shape.as_slice()[skip..] != want[skip..] {
                    self.error = Some(Error::Param { path, reason: format!("shape mismatch: module has {:?}, set has {want:?}", shape.as_slice()) });
                    return param;
                }
                let (mut value, mut dims): (_, [usize; D]) = (self.set.values[index].clone(), shape.dims());
                let numel = want.iter().product::<usize>();
                if let Some(rows) = rows {
                    value = value.reshape([want[0], numel / want[0].max(1)]).select(0, rows.clone()).flatten(0, 1);
                    dims[0] = rows.dims()[0];
                }
                let device = param.lazy_device();
                param.map(|old| {
                    let value = value.reshape(dims).to_device(&device.clone().without_autodiff());
                    let value = if old.is_autodiff() { value.autodiff() } else { value };
                    value.set_require_grad(old.is_require_grad())
                })
            }
        }
        let mut mapper = Mp { stack: PathStack::default(), set: self, rows, next: 0, error: None };
        let module = module.map(&mut mapper);
        match mapper.error {
            Some(e) => Err(e),
            None => Ok(module),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::{Linear, LinearConfig};

    #[derive(Module, Debug)]
    struct Inner {
        fc: Linear,
    }

    #[derive(Module, Debug)]
    enum Wrapped {
        A(Inner),
    }

    #[derive(Module, Debug)]
    struct Net {
        blocks: Vec<Linear>,
        head: Wrapped,
    }

    fn net(device: &Device) -> Net {
        Net {
            blocks: vec![LinearConfig::new(2, 3).init(device), LinearConfig::new(3, 3).init(device)],
            head: Wrapped::A(Inner { fc: LinearConfig::new(3, 1).with_bias(false).init(device) }),
        }
    }

    #[test]
    fn should_name_parameters_by_path_without_enum_variants() {
        let infos = param_infos(&net(&Device::flex()));
        let got: Vec<(&str, &[usize])> = infos.iter().map(|i| (i.path.as_str(), i.shape.as_slice())).collect();
        assert_eq!(
            got,
            [
                ("blocks.0.weight", &[2usize, 3][..]),
                ("blocks.0.bias", &[3][..]),
                ("blocks.1.weight", &[3, 3][..]),
                ("blocks.1.bias", &[3][..]),
                ("head.fc.weight", &[3, 1][..]),
            ]
        );
    }

    #[test]
    fn should_replace_parameters_by_path_and_read_them_back() {
        let device = Device::flex();
        let net =
            replace_params(net(&device), |path, shape| Ok((path == "blocks.0.bias").then(|| TensorData::new(vec![1.0f32, 2.0, 3.0], shape.to_vec())))).unwrap();
        let data = param_data(&net);
        assert_eq!(data[1].0, "blocks.0.bias");
        assert_eq!(data[1].1.try_to_vec::<f32>().unwrap(), [1.0, 2.0, 3.0]);
        assert_eq!(data[0].1.shape().as_slice(), &[2, 3]);
    }

    #[test]
    fn should_reject_data_of_the_wrong_shape() {
        let err = replace_params(net(&Device::flex()), |path, _| Ok((path == "head.fc.weight").then(|| TensorData::new(vec![0.0f32; 4], [4])))).unwrap_err();
        assert!(matches!(err, Error::Param { ref path, .. } if path == "head.fc.weight"), "{err}");
    }

    #[test]
    fn should_round_trip_a_parameter_set_through_one_host_vector() {
        let device = Device::flex();
        let net = net(&device);
        let set = ParamSet::of(&net);
        assert_eq!((set.len(), set.numel()), (5, 2 * 3 + 3 + 3 * 3 + 3 + 3));
        let host: Vec<f32> = (0..set.numel()).map(|i| i as f32).collect();
        let net = set.with_host(&host, &device).unwrap().apply_to(net).unwrap();
        assert_eq!(ParamSet::of(&net).to_host(), host);
        assert_eq!(param_data(&net)[1].1.try_to_vec::<f32>().unwrap(), [6.0, 7.0, 8.0]);
        assert!(matches!(set.with_host(&host[1..], &device), Err(Error::Param { .. })));
    }

    #[test]
    fn should_keep_gradients_required_after_replacement() {
        let device = Device::flex().autodiff();
        let net = replace_params(net(&device), |_, shape| Ok(Some(TensorData::new(vec![0.5f32; shape.iter().product()], shape.to_vec())))).unwrap();
        let x = Tensor::<2>::ones([1, 2], &device);
        let Wrapped::A(inner) = &net.head;
        let y = inner.fc.forward(net.blocks[1].forward(net.blocks[0].forward(x))).sum();
        let grads = GradientsParams::from_grads(y.backward(), &net);
        assert!(flat_grads(&net, &grads).iter().all(|(_, g)| g.is_some()));
    }
}
