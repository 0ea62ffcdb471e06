"""A tiny neural radiance field (NeRF), trained the way public PyTorch NeRF code writes it
(tiny-nerf notebooks, nerf-pytorch), scaled down to train in seconds on a CPU.

The scene: three soft coloured spheres on a black background, rendered into 16 x 16 target
images by a NumPy ray-marcher from eight camera poses on a ring around them; a ninth pose, in
between and a little lower, is held out.

Idioms: camera-to-world pose matrices, the held-out one built by ``pose_spherical`` from
``torch.Tensor([[...]]).float()`` rotations multiplied by ``@``; ``get_rays`` from a pixel
grid by ``torch.meshgrid(..., indexing='xy')``, ``torch.stack`` of the camera-frame
directions, rotated by the broadcast product ``dirs[..., None, :] * c2w[:3, :3]`` summed over
the last dim, origins by ``c2w[:3, -1].expand(...)``; positional encoding by
``torch.sin``/``torch.cos`` of the input times frequency bands ``2. ** torch.linspace(...)``,
joined by ``torch.cat``; an MLP in an ``nn.ModuleList`` with a skip connection
(``torch.cat([input_pts, h], -1)``), inputs split by ``torch.split(x, [a, b], dim=-1)``, and a
view-direction branch fed unit directions (``rays_d / torch.norm(rays_d, dim=-1,
keepdim=True)``); stratified samples along each ray (``torch.linspace``, ``expand``, jitter
by ``torch.rand`` between the mid-points); volume rendering with ``F.relu`` on sigma (after
``torch.randn`` noise on the logits while training, ``raw_noise_std``) and ``torch.sigmoid``
on rgb, ``dists = z[..., 1:] - z[..., :-1]`` closed by ``torch.tensor([1e10]).expand(...)``
(a float32 constant joined to float64 distances in the float64 runs), ``alpha = 1 -
torch.exp(-sigma * dists)`` and the transmittance as an exclusive ``torch.cumprod(1 - alpha +
1e-10, -1)`` -- shifted by ``torch.roll`` and an in-place ``[..., 0] = 1.`` for the coarse
pass (tiny-nerf), by ``torch.cat`` with ``torch.ones`` for the fine pass (nerf-pytorch) --
and ``(weights[..., None] * rgb).sum(-2)``; hierarchical sampling (``sample_pdf``:
``torch.cumsum`` of the normalised weights, ``torch.searchsorted(cdf, u, right=True)``,
``torch.clamp`` of the bracketing indices, ``torch.gather`` from expanded cdf and bins,
``torch.where`` for empty bins; the samples ``detach()``-ed and merged by ``torch.sort``); a
coarse and a fine network sharing one Adam optimizer; ray batches from a ``torch.randperm``
shuffle of every training ray, or (``no_batching``) from one view picked by ``torch.randint``
with pixels from a ``meshgrid(indexing='ij')`` coordinate grid picked by two index columns;
the exponential learning-rate decay written into ``param_group['lr']``; ``F.mse_loss`` for
the coarse and fine renders, summed; PSNR ``-10. * torch.log10(mse)``; a held-out view
rendered under ``torch.no_grad()`` in chunks (``torch.split`` and ``torch.cat`` of the
pieces' dicts); and a checkpoint of both networks and the optimizer through ``torch.save`` to
a ``BytesIO`` and ``torch.load`` into fresh ones.

Written once against the module ``torch`` passed to ``main``: ``gpugrad`` or PyTorch.
"""

from __future__ import annotations

import io

import numpy as np

# the scene: sphere centres, radii and colours (inside the unit ball around the origin)
CENTRES = np.array([[0.35, 0.0, 0.0], [-0.35, 0.25, 0.1], [0.0, -0.35, -0.2]])
RADII = np.array([0.45, 0.35, 0.3])
COLOURS = np.array([[0.9, 0.2, 0.1], [0.1, 0.7, 0.2], [0.2, 0.3, 0.9]])
DENSITY = 12.0  # sigma inside a sphere
EDGE = 0.03  # the width of a sphere's soft surface

H = W = 16
FOCAL = 30.0
NEAR, FAR = 2.0, 6.0
RADIUS = 4.0  # cameras' distance from the origin


# ---------------------------------------------------------------------------- NumPy scene
def pose_looking_at_origin(theta_deg: float, phi_deg: float, radius: float = RADIUS):
    """A 4 x 4 camera-to-world matrix for a camera at azimuth ``theta`` and elevation ``phi``
    looking at the origin (the camera looks down its -z axis, y up: the OpenGL convention of
    NeRF's synthetic scenes)."""
    theta, phi = np.deg2rad(theta_deg), np.deg2rad(phi_deg)
    eye = radius * np.array([np.cos(phi) * np.sin(theta), np.sin(phi),
                             np.cos(phi) * np.cos(theta)])
    back = eye / np.linalg.norm(eye)  # +z of the camera points away from the scene
    right = np.cross([0.0, 1.0, 0.0], back)
    right /= np.linalg.norm(right)
    up = np.cross(back, right)
    c2w = np.eye(4)
    c2w[:3, 0], c2w[:3, 1], c2w[:3, 2], c2w[:3, 3] = right, up, back, eye
    return c2w


def get_rays_np(height: int, width: int, focal: float, c2w):
    """Ray origins and directions of every pixel, in NumPy (the same convention as
    ``get_rays``)."""
    i, j = np.meshgrid(np.arange(width, dtype=np.float64), np.arange(height, dtype=np.float64),
                       indexing="xy")
    dirs = np.stack([(i - width * 0.5) / focal, -(j - height * 0.5) / focal,
                     -np.ones_like(i)], -1)
    rays_d = dirs @ c2w[:3, :3].T
    rays_o = np.broadcast_to(c2w[:3, 3], rays_d.shape)
    return rays_o, rays_d


def scene_density_and_colour(points):
    """sigma and rgb of the scene at ``points`` (..., 3): each sphere a soft ball of density
    DENSITY, the colour the density-weighted mix of the spheres' colours."""
    dist = np.linalg.norm(points[..., None, :] - CENTRES, axis=-1)  # (..., spheres)
    inside = 1.0 / (1.0 + np.exp(-(RADII - dist) / EDGE))
    sigma = DENSITY * inside.sum(-1)
    rgb = (inside[..., None] * COLOURS).sum(-2) / (inside.sum(-1, keepdims=True) + 1e-8)
    return sigma, rgb


def render_scene(c2w, height: int = H, width: int = W, focal: float = FOCAL,
                 n_steps: int = 256):
    """The target image (height, width, 3) seen from ``c2w``: the volume-rendering integral
    by a fine midpoint rule between NEAR and FAR, on a black background."""
    rays_o, rays_d = get_rays_np(height, width, focal, c2w)
    edges = np.linspace(NEAR, FAR, n_steps + 1)
    t = 0.5 * (edges[1:] + edges[:-1])
    delta = (edges[1:] - edges[:-1]) * np.linalg.norm(rays_d, axis=-1, keepdims=True)
    points = rays_o[..., None, :] + rays_d[..., None, :] * t[:, None]
    sigma, rgb = scene_density_and_colour(points)
    alpha = 1.0 - np.exp(-sigma * delta)
    trans = np.cumprod(np.concatenate([np.ones_like(alpha[..., :1]), 1.0 - alpha[..., :-1]],
                                      -1), -1)
    return ((trans * alpha)[..., None] * rgb).sum(-2)


def make_dataset(n_train: int = 8):
    """``n_train`` training views on a ring at 30 degrees' elevation and a held-out view
    between two of them: images (N, H, W, 3) and poses (N, 4, 4), float64."""
    thetas = np.linspace(0.0, 360.0, n_train, endpoint=False)
    poses = np.stack([pose_looking_at_origin(t, 30.0) for t in thetas])
    images = np.stack([render_scene(p) for p in poses])
    test_pose = pose_looking_at_origin(180.0 / n_train, 25.0)
    return images, poses, render_scene(test_pose), test_pose


# ---------------------------------------------------------------------------- the NeRF
def pose_spherical(torch, theta, phi, radius):
    """The pose of ``pose_looking_at_origin`` built from 4 x 4 matrices, as NeRF's render-path
    code writes it: a camera pushed ``radius`` along +z, raised by ``phi`` degrees (a turn
    about x), swung by ``theta`` degrees about the vertical axis."""
    def translate_z(t):
        return torch.Tensor([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, t], [0, 0, 0, 1]]).float()

    def turn_x(a):
        return torch.Tensor([[1, 0, 0, 0], [0, np.cos(a), -np.sin(a), 0],
                             [0, np.sin(a), np.cos(a), 0], [0, 0, 0, 1]]).float()

    def turn_y(b):
        return torch.Tensor([[np.cos(b), 0, np.sin(b), 0], [0, 1, 0, 0],
                             [-np.sin(b), 0, np.cos(b), 0], [0, 0, 0, 1]]).float()

    c2w = translate_z(radius)
    c2w = turn_x(-phi / 180. * np.pi) @ c2w
    c2w = turn_y(theta / 180. * np.pi) @ c2w
    return c2w


def get_rays(torch, height, width, focal, c2w):
    """Origins and directions (height, width, 3) of the rays through every pixel of a
    camera with pose ``c2w``."""
    i, j = torch.meshgrid(torch.linspace(0, width - 1, width, dtype=c2w.dtype),
                          torch.linspace(0, height - 1, height, dtype=c2w.dtype),
                          indexing="xy")
    dirs = torch.stack([(i - width * .5) / focal, -(j - height * .5) / focal,
                        -torch.ones_like(i)], -1)
    # rotate the camera-frame directions into the world frame: a dot product with each row
    rays_d = torch.sum(dirs[..., None, :] * c2w[:3, :3], -1)
    rays_o = c2w[:3, -1].expand(rays_d.shape)
    return rays_o, rays_d


class Embedder:
    """x -> [x, sin(2^0 x), cos(2^0 x), ..., sin(2^(L-1) x), cos(2^(L-1) x)]."""

    def __init__(self, torch, multires: int, include_input: bool = True):
        self.torch = torch
        self.include_input = include_input
        self.freq_bands = 2. ** torch.linspace(0., multires - 1, steps=multires)
        self.out_dim = 3 * (int(include_input) + 2 * multires)

    def __call__(self, x):
        torch = self.torch
        parts = [x] if self.include_input else []
        for freq in self.freq_bands:
            for fn in (torch.sin, torch.cos):
                parts.append(fn(x * freq))
        return torch.cat(parts, -1)


def build_nerf(torch, input_ch: int, input_ch_views: int, depth: int = 4, width: int = 64,
               skips=(2,)):
    """The NeRF MLP: ``depth`` ReLU layers on the encoded point, the encoded point joined
    back in after layer ``skips``; sigma from the trunk, rgb from a view-dependent head."""
    nn = torch.nn
    F = nn.functional

    class NeRF(nn.Module):
        def __init__(self):
            super().__init__()
            self.input_ch, self.input_ch_views = input_ch, input_ch_views
            self.skips = list(skips)
            self.pts_linears = nn.ModuleList(
                [nn.Linear(input_ch, width)]
                + [nn.Linear(width + input_ch, width) if i in self.skips
                   else nn.Linear(width, width) for i in range(1, depth)])
            self.views_linears = nn.ModuleList([nn.Linear(input_ch_views + width, width // 2)])
            self.feature_linear = nn.Linear(width, width)
            self.alpha_linear = nn.Linear(width, 1)
            self.rgb_linear = nn.Linear(width // 2, 3)

        def forward(self, x):
            input_pts, input_views = torch.split(x, [self.input_ch, self.input_ch_views],
                                                 dim=-1)
            h = input_pts
            for i, layer in enumerate(self.pts_linears):
                if i in self.skips:
                    h = torch.cat([input_pts, h], -1)
                h = F.relu(layer(h))
            alpha = self.alpha_linear(h)
            h = torch.cat([self.feature_linear(h), input_views], -1)
            for layer in self.views_linears:
                h = F.relu(layer(h))
            rgb = self.rgb_linear(h)
            return torch.cat([rgb, alpha], -1)

    return NeRF()


def run_network(torch, inputs, viewdirs, fn, embed_fn, embeddirs_fn, netchunk=1 << 15):
    """Encode the sample points (N_rays, N_samples, 3) and their rays' directions, run ``fn``
    on them in chunks of points, and give the raw (N_rays, N_samples, 4) outputs."""
    inputs_flat = inputs.reshape(-1, inputs.shape[-1])
    embedded = embed_fn(inputs_flat)
    input_dirs = viewdirs[:, None].expand(inputs.shape)
    embedded = torch.cat([embedded, embeddirs_fn(input_dirs.reshape(-1, 3))], -1)
    outputs_flat = torch.cat([fn(embedded[i:i + netchunk])
                              for i in range(0, embedded.shape[0], netchunk)], 0)
    return outputs_flat.reshape(list(inputs.shape[:-1]) + [outputs_flat.shape[-1]])


def cumprod_exclusive(torch, tensor):
    """[1, t0, t0 t1, ...]: the cumulative product shifted one place right (tiny-nerf)."""
    cumprod = torch.cumprod(tensor, -1)
    cumprod = torch.roll(cumprod, 1, -1)
    cumprod[..., 0] = 1.
    return cumprod


def raw2outputs(torch, raw, z_vals, rays_d, shift: str = "cat", raw_noise_std=0.,
                randn=None):
    """Volume-render the raw network outputs along each ray: rgb, depth and accumulated
    opacity per ray, and the weight of every sample."""
    F = torch.nn.functional
    dists = z_vals[..., 1:] - z_vals[..., :-1]
    dists = torch.cat([dists, torch.tensor([1e10]).expand(dists[..., :1].shape)], -1)
    dists = dists * torch.norm(rays_d[..., None, :], dim=-1)
    rgb = torch.sigmoid(raw[..., :3])
    noise = 0.
    if raw_noise_std > 0.:
        # regularising noise on the density logits (keeps the ReLU from dying early on)
        shape = raw[..., 3].shape
        noise = (randn(shape) if randn is not None else torch.randn(shape)) * raw_noise_std
    alpha = 1. - torch.exp(-F.relu(raw[..., 3] + noise) * dists)
    if shift == "roll":
        transmittance = cumprod_exclusive(torch, 1. - alpha + 1e-10)
    else:
        transmittance = torch.cumprod(
            torch.cat([torch.ones((alpha.shape[0], 1)), 1. - alpha + 1e-10], -1), -1)[:, :-1]
    weights = alpha * transmittance
    rgb_map = (weights[..., None] * rgb).sum(-2)
    depth_map = torch.sum(weights * z_vals, -1)
    acc_map = torch.sum(weights, -1)
    return rgb_map, depth_map, acc_map, weights


def sample_pdf(torch, bins, weights, n_samples, det=False, rand=None):
    """Draw ``n_samples`` depths per ray from the piecewise-constant pdf that ``weights``
    puts on the intervals between ``bins`` (inverse-transform sampling)."""
    weights = weights + 1e-5  # no empty pdf
    pdf = weights / torch.sum(weights, -1, keepdim=True)
    cdf = torch.cumsum(pdf, -1)
    cdf = torch.cat([torch.zeros_like(cdf[..., :1]), cdf], -1)  # (rays, bins)

    shape = list(cdf.shape[:-1]) + [n_samples]
    if det:
        u = torch.linspace(0., 1., steps=n_samples, dtype=cdf.dtype).expand(shape)
    else:
        u = rand(shape) if rand is not None else torch.rand(shape, dtype=cdf.dtype)
    u = u.contiguous()

    # the cdf interval each u falls in: its lower and upper edge's index
    inds = torch.searchsorted(cdf, u, right=True)
    below = torch.clamp(inds - 1, min=0)
    above = torch.clamp(inds, max=cdf.shape[-1] - 1)
    inds_g = torch.stack([below, above], -1)  # (rays, samples, 2)

    matched_shape = [inds_g.shape[0], inds_g.shape[1], cdf.shape[-1]]
    cdf_g = torch.gather(cdf.unsqueeze(1).expand(matched_shape), 2, inds_g)
    bins_g = torch.gather(bins.unsqueeze(1).expand(matched_shape), 2, inds_g)

    denom = cdf_g[..., 1] - cdf_g[..., 0]
    denom = torch.where(denom < 1e-5, torch.ones_like(denom), denom)
    t = (u - cdf_g[..., 0]) / denom
    return bins_g[..., 0] + t * (bins_g[..., 1] - bins_g[..., 0])


def render_rays(torch, ray_batch, models, embedders, n_samples=32, n_importance=32,
                perturb=True, raw_noise_std=0., rand=None, randn=None):
    """Render a batch of rays (N, 6: origins then directions): the coarse pass on stratified
    samples, then the fine pass on those plus importance samples drawn from the coarse
    weights. ``rand(shape)`` gives the uniform draws (``torch.rand`` by default)."""
    coarse, fine = models
    embed_fn, embeddirs_fn = embedders
    if rand is None:
        def rand(shape):
            return torch.rand(shape, dtype=ray_batch.dtype)
    n_rays = ray_batch.shape[0]
    rays_o, rays_d = ray_batch[:, 0:3], ray_batch[:, 3:6]
    viewdirs = rays_d / torch.norm(rays_d, dim=-1, keepdim=True)

    t_vals = torch.linspace(0., 1., steps=n_samples, dtype=ray_batch.dtype)
    z_vals = NEAR * (1. - t_vals) + FAR * t_vals
    z_vals = z_vals.expand([n_rays, n_samples])
    if perturb:
        # one uniform draw in each stratum between the mid-points
        mids = .5 * (z_vals[..., 1:] + z_vals[..., :-1])
        upper = torch.cat([mids, z_vals[..., -1:]], -1)
        lower = torch.cat([z_vals[..., :1], mids], -1)
        z_vals = lower + (upper - lower) * rand(z_vals.shape)

    pts = rays_o[..., None, :] + rays_d[..., None, :] * z_vals[..., :, None]
    raw = run_network(torch, pts, viewdirs, coarse, embed_fn, embeddirs_fn)
    rgb_map_0, _, acc_map_0, weights = raw2outputs(torch, raw, z_vals, rays_d, shift="roll",
                                                   raw_noise_std=raw_noise_std, randn=randn)

    z_vals_mid = .5 * (z_vals[..., 1:] + z_vals[..., :-1])
    z_samples = sample_pdf(torch, z_vals_mid, weights[..., 1:-1], n_importance,
                           det=not perturb, rand=rand)
    z_samples = z_samples.detach()
    z_vals, _ = torch.sort(torch.cat([z_vals, z_samples], -1), -1)
    pts = rays_o[..., None, :] + rays_d[..., None, :] * z_vals[..., :, None]
    raw = run_network(torch, pts, viewdirs, fine, embed_fn, embeddirs_fn)
    rgb_map, depth_map, acc_map, _ = raw2outputs(torch, raw, z_vals, rays_d, shift="cat",
                                                   raw_noise_std=raw_noise_std, randn=randn)
    return {"rgb_map": rgb_map, "depth_map": depth_map, "acc_map": acc_map,
            "rgb0": rgb_map_0, "acc0": acc_map_0, "z_std": z_samples.std(-1)}


def render_chunks(torch, rays_flat, models, embedders, chunk=1024, **kwargs):
    """Render many rays a chunk at a time and join the pieces."""
    pieces = [render_rays(torch, part, models, embedders, **kwargs)
              for part in torch.split(rays_flat, chunk)]
    return {k: torch.cat([p[k] for p in pieces], 0) for k in pieces[0]}


def create_nerf(torch, multires=4, multires_views=2, depth=4, width=64, lrate=2e-3):
    """The two networks, their encoders and one Adam optimizer over all their weights."""
    embed_fn = Embedder(torch, multires)
    embeddirs_fn = Embedder(torch, multires_views)
    coarse = build_nerf(torch, embed_fn.out_dim, embeddirs_fn.out_dim, depth, width)
    fine = build_nerf(torch, embed_fn.out_dim, embeddirs_fn.out_dim, depth, width)
    grad_vars = list(coarse.parameters()) + list(fine.parameters())
    optimizer = torch.optim.Adam(params=grad_vars, lr=lrate, betas=(0.9, 0.999))
    return (coarse, fine), (embed_fn, embeddirs_fn), optimizer


def mse2psnr(torch, mse):
    return -10. * torch.log10(mse)


def train_step(torch, batch, models, embedders, optimizer, global_step, lrate=2e-3,
               decay_steps=1000, decay_rate=0.1, rand=None, **kwargs):
    """One step on a batch (N, 3, 3) of [origin, direction, target colour]: the fine and
    coarse losses summed, Adam, then the learning rate for the next step."""
    F = torch.nn.functional
    batch_rays, target_s = batch[:, :2].reshape(-1, 6), batch[:, 2]
    extras = render_rays(torch, batch_rays, models, embedders, rand=rand, **kwargs)
    optimizer.zero_grad()
    img_loss = F.mse_loss(extras["rgb_map"], target_s)
    img_loss0 = F.mse_loss(extras["rgb0"], target_s)
    loss = img_loss + img_loss0
    psnr = mse2psnr(torch, img_loss)
    loss.backward()
    optimizer.step()
    new_lrate = lrate * (decay_rate ** ((global_step + 1) / decay_steps))
    for param_group in optimizer.param_groups:
        param_group['lr'] = new_lrate
    return loss.item(), psnr.item(), new_lrate


def render_view(torch, c2w, models, embedders, chunk=128, **kwargs):
    """The image (H, W, 3) seen from ``c2w``, under no_grad, without jitter."""
    with torch.no_grad():
        rays_o, rays_d = get_rays(torch, H, W, FOCAL, c2w)
        rays = torch.cat([rays_o.reshape(-1, 3), rays_d.reshape(-1, 3)], -1)
        out = render_chunks(torch, rays, models, embedders, chunk=chunk, perturb=False,
                            **kwargs)
    return out["rgb_map"].reshape(H, W, 3), out["acc_map"].reshape(H, W)


def single_image_batch(torch, images, poses, n_rand):
    """nerf-pytorch's ``no_batching`` draw: one training image by ``torch.randint``, then
    ``n_rand`` of its pixels (a ``torch.randperm`` of the (row, column) grid), their rays
    picked by indexing with the two coordinate columns."""
    img_i = torch.randint(0, images.shape[0], (1,)).item()
    target = images[img_i]
    rays_o, rays_d = get_rays(torch, H, W, FOCAL, poses[img_i, :3, :4])
    coords = torch.stack(torch.meshgrid(torch.linspace(0, H - 1, H), torch.linspace(0, W - 1, W),
                                        indexing="ij"), -1)
    coords = torch.reshape(coords, [-1, 2])
    select_inds = torch.randperm(coords.shape[0])[:n_rand]
    select_coords = coords[select_inds].long()
    rows, cols = select_coords[:, 0], select_coords[:, 1]
    return torch.stack([rays_o[rows, cols], rays_d[rows, cols], target[rows, cols]], 1)


def main(torch, steps: int = 200, n_rand: int = 128, n_samples: int = 16,
         n_importance: int = 16, lrate: float = 2e-3, raw_noise_std: float = 1.,
         no_batching: bool = False, seed: int = 0) -> dict:
    """Train on the eight views for ``steps`` batches of ``n_rand`` rays (from a shuffle of
    every view's rays, or with ``no_batching`` from one random view a step); returns the
    training losses, the held-out view's PSNR before and after (and after a checkpoint round
    trip), and the learning rate."""
    torch.manual_seed(seed)
    images_np, poses_np, _, _ = make_dataset()
    images = torch.from_numpy(images_np).float()
    poses = torch.from_numpy(poses_np).float()
    # the held-out view between the first two training views, a little lower
    test_pose = pose_spherical(torch, 180. / len(images), 25., RADIUS)
    test_image = torch.from_numpy(render_scene(test_pose.numpy().astype(np.float64))).float()

    models, embedders, optimizer = create_nerf(torch, lrate=lrate)
    kwargs = {"n_samples": n_samples, "n_importance": n_importance}

    def held_out_psnr(models):
        rgb, acc = render_view(torch, test_pose, models, embedders, **kwargs)
        return mse2psnr(torch, torch.mean((rgb - test_image) ** 2)).item(), rgb, acc

    initial_psnr, _, _ = held_out_psnr(models)

    # every training ray with its pixel's colour: (N * H * W, 3, 3), shuffled each epoch
    rays = torch.stack([torch.stack(get_rays(torch, H, W, FOCAL, p), 0)
                        for p in poses[:, :3, :4]], 0)  # (N, ro+rd, H, W, 3)
    rays_rgb = torch.cat([rays, images[:, None]], 1)  # (N, ro+rd+rgb, H, W, 3)
    rays_rgb = rays_rgb.permute(0, 2, 3, 1, 4).reshape(-1, 3, 3)
    rays_rgb = rays_rgb[torch.randperm(rays_rgb.shape[0])]

    losses, psnrs, i_batch = [], [], 0
    for global_step in range(steps):
        if no_batching:
            batch = single_image_batch(torch, images, poses, n_rand)
        else:
            batch = rays_rgb[i_batch:i_batch + n_rand]
            i_batch += n_rand
            if i_batch >= rays_rgb.shape[0]:
                rays_rgb = rays_rgb[torch.randperm(rays_rgb.shape[0])]
                i_batch = 0
        loss, psnr, lr = train_step(torch, batch, models, embedders, optimizer, global_step,
                                    lrate=lrate, raw_noise_std=raw_noise_std, **kwargs)
        losses.append(loss)
        psnrs.append(psnr)

    final_psnr, rgb, acc = held_out_psnr(models)

    # a checkpoint of both networks and the optimizer, saved and loaded into fresh ones
    buffer = io.BytesIO()
    torch.save({"global_step": steps,
                "network_fn_state_dict": models[0].state_dict(),
                "network_fine_state_dict": models[1].state_dict(),
                "optimizer_state_dict": optimizer.state_dict()}, buffer)
    buffer.seek(0)
    ckpt = torch.load(buffer)
    reloaded, _, reloaded_optimizer = create_nerf(torch, lrate=lrate)
    reloaded[0].load_state_dict(ckpt["network_fn_state_dict"])
    reloaded[1].load_state_dict(ckpt["network_fine_state_dict"])
    reloaded_optimizer.load_state_dict(ckpt["optimizer_state_dict"])
    reloaded_psnr, _, _ = held_out_psnr(reloaded)

    return {
        "initial_loss": float(np.mean(losses[:5])),
        "final_loss": float(np.mean(losses[-20:])),
        "train_psnr": float(np.mean(psnrs[-20:])),
        "initial_psnr": initial_psnr,
        "final_psnr": final_psnr,
        "reloaded_psnr": reloaded_psnr,
        "lr": lr,
        "reloaded_lr": reloaded_optimizer.param_groups[0]["lr"],
        "reloaded_step": ckpt["global_step"],
        "image_shape": tuple(rgb.shape),
        "image_dtype": str(rgb.dtype),
        "acc_range": (acc.min().item(), acc.max().item()),
        "finite": bool(torch.isfinite(rgb).all()),
    }


if __name__ == "__main__":
    import importlib
    import sys
    import time

    lib = importlib.import_module(sys.argv[1] if len(sys.argv) > 1 else "gpugrad")
    start = time.perf_counter()
    print(main(lib), f"{time.perf_counter() - start:.1f} s")
